"""The one interface every screen has, plus the header bar they share.

A screen is built for one `UiState` and one `RenderContext`. It paints its static picture once
(`draw_static`), lists its touch targets (`buttons`), and names the few regions that change on
their own (`dynamic`: the idle animation, the clock). The UI object does the dirty-rectangle
bookkeeping, so a screen never decides when the display is flipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pygame

from kiosk.ui_state import Intent, ToggleLocale
from screens import theme
from screens.context import RenderContext
from screens.grid import grid_index, next_on_grid
from screens.layout import inset
from screens.widgets import Button, draw_button, draw_status, draw_text, status_width


class Dynamic(Protocol):
    """A region that repaints itself over the static picture when time passes."""

    rect: pygame.Rect
    #: True when `paint` covers every pixel of `rect`: the static picture under it need not be
    #: restored first (one blit per frame instead of two).
    covers: bool

    def advance(self, now: float) -> bool:
        """Move to the picture for monotonic time `now`; True when it differs from the last one."""

    def paint(self, surface: pygame.Surface) -> None: ...

    def next_change(self, now: float) -> float:
        """Monotonic time at which `advance` will next return True (inf when never)."""


@dataclass
class FrameLoop:
    """A looping animation of pre-rendered frames: each step is one small blit."""

    rect: pygame.Rect
    frames: list[pygame.Surface]
    fps: float
    index: int = -1
    covers: bool = field(init=False)

    def __post_init__(self) -> None:
        self.covers = all(
            frame.get_size() == self.rect.size
            and not frame.get_flags() & pygame.SRCALPHA
            and frame.get_colorkey() is None
            and frame.get_alpha() is None
            for frame in self.frames
        )

    def _index_at(self, now: float) -> int:
        return grid_index(now, 1.0 / self.fps) % len(self.frames)

    def advance(self, now: float) -> bool:
        index = self._index_at(now)
        if index == self.index:
            return False
        self.index = index
        return True

    def paint(self, surface: pygame.Surface) -> None:
        surface.blit(self.frames[max(0, self.index)], self.rect)

    def next_change(self, now: float) -> float:
        return next_on_grid(now, 1.0 / self.fps)


@dataclass
class TextTicker:
    """Text that depends on the wall clock (the idle clock): repainted when its text changes."""

    rect: pygame.Rect
    text_of: Callable[[], str]
    paint_text: Callable[[pygame.Surface, pygame.Rect, str], None]
    background: theme.Color
    period_s: float = 1.0
    text: str | None = None
    covers: bool = True  # paint fills the background first
    checked_until: float = float("-inf")

    def advance(self, now: float) -> bool:
        # Formatting the clock costs more than the rest of an idle frame: ask for the text only
        # once per period, when next_change said it might differ.
        if self.text is not None and now < self.checked_until:
            return False
        self.checked_until = self.next_change(now)
        text = self.text_of()
        if text == self.text:
            return False
        self.text = text
        return True

    def paint(self, surface: pygame.Surface) -> None:
        surface.fill(self.background, self.rect)
        if self.text is None:
            self.text = self.text_of()
        self.paint_text(surface, self.rect, self.text)

    def next_change(self, now: float) -> float:
        return next_on_grid(now, self.period_s)


class Screen:
    """Base class: subclasses fill `buttons`/`dynamic` in `__init__` and implement `draw_body`."""

    title_key: str | None = None
    show_locale_button: bool = True
    #: Touch polling rate this screen needs, if less than the loop's default (None: the default).
    input_hz: float | None = None

    def __init__(self, ctx: RenderContext, online: bool = True) -> None:
        self.ctx = ctx
        self.online = online
        self.buttons: list[Button] = []
        self.dynamic: list[Dynamic] = []
        #: Set by `tap` when a touch changed the picture without producing an intent.
        self.needs_redraw = False
        if self.show_locale_button:
            self.buttons.append(self.locale_button())

    # --- shared header --------------------------------------------------------------------
    def locale_button(self) -> Button:
        lay = self.ctx.layout
        head = lay.header
        side = max(lay.min_target, round(lay.unit * 9.8))  # physical minimum, else proportional
        width = max(side, round(lay.unit * 22))
        rect = pygame.Rect(head.right - lay.margin - width, head.centery - side // 2, width, side)
        return Button(
            rect=rect, label=self.ctx.t("toggle_locale"), intent=ToggleLocale(), kind="secondary", key="locale"
        )

    def header_title(self) -> str:
        return self.ctx.t(self.title_key) if self.title_key else ""

    def draw_header(self, surface: pygame.Surface) -> None:
        lay = self.ctx.layout
        head = lay.header
        pygame.draw.rect(surface, theme.PANEL, head)
        pygame.draw.line(surface, theme.DIVIDER, (head.x, head.bottom - 1), (head.right, head.bottom - 1), 1)
        draw_status(surface, self.ctx, self.online, self._status_rect(), align="right")
        self.draw_header_left(surface, self.header_left_rect())

    def _status_rect(self) -> pygame.Rect:
        lay = self.ctx.layout
        head = lay.header
        right_edge = head.right - lay.margin
        if self.show_locale_button:
            right_edge = self.buttons[0].rect.x - lay.gap * 2
        return pygame.Rect(head.x, head.y, right_edge - head.x, head.h)

    def header_left_rect(self) -> pygame.Rect:
        """The room left of the online mark for the title (or the member's name and tier)."""
        lay = self.ctx.layout
        status_x = self._status_rect().right - status_width(self.ctx, self.online)
        return pygame.Rect(lay.margin, lay.header.y, status_x - lay.margin - lay.gap * 2, lay.header.h)

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_text(surface, self.ctx, self.header_title(), rect, style="title", bold=True)

    # --- whole picture --------------------------------------------------------------------
    def draw_static(self, surface: pygame.Surface) -> None:
        surface.fill(theme.BACKGROUND)
        self.draw_header(surface)
        self.draw_body(surface)
        for button in self.buttons:
            draw_button(surface, self.ctx, button)

    def draw_body(self, surface: pygame.Surface) -> None:
        raise NotImplementedError

    # --- touch ------------------------------------------------------------------------------
    def button_at(self, pos: tuple[int, int]) -> Button | None:
        for button in self.buttons:
            if button.hit(pos):
                return button
        return None

    def tap(self, pos: tuple[int, int]) -> Intent | None:
        """The intent for a tap at `pos`; screens with lists override to handle rows."""
        button = self.button_at(pos)
        return button.intent if button else None

    def scroll(self, dy: float) -> pygame.Rect | None:
        """Scroll by `dy` pixels (positive = content moves up); the area to redraw, or None."""
        return None

    def content_rect(self) -> pygame.Rect:
        return self.ctx.layout.content

    def body_rect(self) -> pygame.Rect:
        return inset(self.ctx.layout.content, 0)
