"""Proportional layout: every size and position derives from the panel's logical size.

Nothing here is a fixed pixel count except the physical minimum for touch targets (9 mm), which
needs the panel's density. Screens ask a `Layout` for the header, content and footer bands and for
type sizes; they split rectangles with the helpers below.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from screens.errors import LayoutError

#: The official 7" Raspberry Pi touchscreen: 800 px across 154.08 mm of active area.
DEFAULT_PX_PER_MM = 800 / 154.08
MIN_TARGET_MM = 9.0


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    px_per_mm: float = DEFAULT_PX_PER_MM

    def __post_init__(self) -> None:
        if self.width < 240 or self.height < 240:
            raise LayoutError(f"panel {self.width}x{self.height} is too small for the kiosk UI")
        if not 1.0 <= self.px_per_mm <= 40.0:
            raise LayoutError(f"px_per_mm {self.px_per_mm} is outside 1..40 (dpi 25..1000)")

    # --- shape --------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def landscape(self) -> bool:
        return self.width >= self.height

    @property
    def unit(self) -> float:
        """1% of the short side: type and spacing scale with it, so portrait and landscape match."""
        return min(self.width, self.height) / 100.0

    @property
    def full(self) -> pygame.Rect:
        return pygame.Rect(0, 0, self.width, self.height)

    # --- physical -----------------------------------------------------------------------
    def mm(self, millimetres: float) -> int:
        return round(millimetres * self.px_per_mm)

    @property
    def min_target(self) -> int:
        """Smallest side a touch target may have, in pixels."""
        return self.mm(MIN_TARGET_MM)

    # --- spacing and type ---------------------------------------------------------------
    @property
    def margin(self) -> int:
        return round(self.unit * 4)

    @property
    def gap(self) -> int:
        return round(self.unit * 2.5)

    @property
    def radius(self) -> int:
        return round(self.unit * 2.2)

    def type_size(self, name: str) -> int:
        """Pixel size of a named text style."""
        scale = {"small": 4.2, "body": 5.0, "label": 4.6, "title": 7.0, "big": 10.0, "huge": 16.0, "button": 5.4}[name]
        return max(12, round(self.unit * scale))

    # --- bands ---------------------------------------------------------------------------
    @property
    def header(self) -> pygame.Rect:
        h = max(self.min_target + round(self.unit * 2), round(min(self.width, self.height) * 0.13))
        return pygame.Rect(0, 0, self.width, h)

    @property
    def footer(self) -> pygame.Rect:
        h = max(self.min_target + 2 * self.gap, round(min(self.width, self.height) * 0.19))
        return pygame.Rect(0, self.height - h, self.width, h)

    @property
    def content(self) -> pygame.Rect:
        top = self.header.bottom + self.gap
        bottom = self.footer.top - self.gap
        return pygame.Rect(self.margin, top, self.width - 2 * self.margin, bottom - top)

    @property
    def button_height(self) -> int:
        return max(self.min_target, self.footer.height - 2 * self.gap)


def inset(rect: pygame.Rect, dx: int, dy: int | None = None) -> pygame.Rect:
    dy = dx if dy is None else dy
    return pygame.Rect(rect.x + dx, rect.y + dy, max(0, rect.w - 2 * dx), max(0, rect.h - 2 * dy))


def split_columns(rect: pygame.Rect, weights: list[float], gap: int) -> list[pygame.Rect]:
    """Cut `rect` into side-by-side columns whose widths follow `weights`."""
    usable = rect.w - gap * (len(weights) - 1)
    total = sum(weights)
    out, x = [], rect.x
    for i, weight in enumerate(weights):
        w = rect.right - x if i == len(weights) - 1 else round(usable * weight / total)
        out.append(pygame.Rect(x, rect.y, w, rect.h))
        x += w + gap
    return out


def split_rows(rect: pygame.Rect, weights: list[float], gap: int) -> list[pygame.Rect]:
    """Cut `rect` into stacked rows whose heights follow `weights`."""
    usable = rect.h - gap * (len(weights) - 1)
    total = sum(weights)
    out, y = [], rect.y
    for i, weight in enumerate(weights):
        h = rect.bottom - y if i == len(weights) - 1 else round(usable * weight / total)
        out.append(pygame.Rect(rect.x, y, rect.w, h))
        y += h + gap
    return out


def split(rect: pygame.Rect, weights: list[float], gap: int, *, horizontal: bool) -> list[pygame.Rect]:
    return split_columns(rect, weights, gap) if horizontal else split_rows(rect, weights, gap)
