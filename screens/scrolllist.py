"""A vertical list of equal rows that scrolls by touch, clipped to its rectangle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from screens import theme


@dataclass
class ScrollList:
    rect: pygame.Rect
    row_height: int
    count: int
    gap: int
    offset: float = 0.0

    @property
    def content_height(self) -> int:
        return max(0, self.count * (self.row_height + self.gap) - self.gap)

    @property
    def max_offset(self) -> float:
        return max(0, self.content_height - self.rect.h)

    def scroll(self, dy: float) -> bool:
        """Move the content up by `dy` pixels (clamped); True when the view changed."""
        new = max(0.0, min(self.max_offset, self.offset + dy))
        changed = round(new) != round(self.offset)
        self.offset = new
        return changed

    def row_rect(self, index: int) -> pygame.Rect:
        y = self.rect.y + index * (self.row_height + self.gap) - round(self.offset)
        return pygame.Rect(self.rect.x, y, self.rect.w - self.bar_width, self.row_height)

    @property
    def bar_width(self) -> int:
        return max(4, self.gap) if self.max_offset > 0 else 0

    def index_at(self, pos: tuple[int, int]) -> int | None:
        """The row under `pos`, only when the row is fully inside the visible list."""
        if not self.rect.collidepoint(pos):
            return None
        for i in range(self.count):
            row = self.row_rect(i)
            if row.collidepoint(pos):
                return i
        return None

    def draw(self, surface: pygame.Surface, draw_row: Callable[[pygame.Surface, int, pygame.Rect], None]) -> None:
        previous = surface.get_clip()
        surface.set_clip(self.rect)
        for i in range(self.count):
            row = self.row_rect(i)
            if row.bottom >= self.rect.top and row.top <= self.rect.bottom:
                draw_row(surface, i, row)
        surface.set_clip(previous)
        if self.max_offset > 0:
            track = pygame.Rect(self.rect.right - self.bar_width // 2 - 2, self.rect.y, 4, self.rect.h)
            pygame.draw.rect(surface, theme.PROGRESS_TRACK, track, border_radius=2)
            thumb_h = max(self.row_height // 2, round(self.rect.h * self.rect.h / self.content_height))
            thumb_y = self.rect.y + round((self.rect.h - thumb_h) * self.offset / self.max_offset)
            pygame.draw.rect(surface, theme.TEXT_SECONDARY, pygame.Rect(track.x, thumb_y, 4, thumb_h), border_radius=2)
