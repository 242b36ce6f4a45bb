"""Attract screen (store name, "tap your card", clock, online mark) and the reading screen.

The animation is a ring of ripples around a card, pre-rendered once into a handful of opaque
frames; while idle, each step is one small blit of a region the size of the icon, a few times a
second, which is what keeps the idle kiosk near 0% CPU.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pygame
import pygame.gfxdraw

from kiosk.ui_state import Idle
from screens import theme
from screens.base import FrameLoop, Screen, TextTicker
from screens.context import RenderContext
from screens.layout import split
from screens.text import clock_date_text, time_text
from screens.widgets import blit_aligned, card_icon, draw_paragraph, draw_status, draw_text, render_text

RIPPLE_FRAMES = 16
# A calm ripple (one ring's journey takes 2.7 s): 6 frames a second are enough for it, and each
# frame is a wake-up of the idle kiosk.
RIPPLE_FPS = 6.0
SPINNER_FRAMES = 12
SPINNER_FPS = 12.0


def _blend(color: theme.Color, over: theme.Color, alpha: float) -> theme.Color:
    def mix(c: int, o: int) -> int:
        return round(c * alpha + o * (1 - alpha))

    return mix(color[0], over[0]), mix(color[1], over[1]), mix(color[2], over[2])


@lru_cache(maxsize=4)
def ripple_frames(side: int) -> tuple[pygame.Surface, ...]:
    """Opaque frames: the card with rings spreading out and fading, three rings in flight."""
    card = card_icon(int(side * 0.52))
    frames = []
    inner, outer = side * 0.28, side * 0.5 - 2
    for i in range(RIPPLE_FRAMES):
        frame = pygame.Surface((side, side))
        frame.fill(theme.BACKGROUND)
        c = side // 2
        for ring in range(3):
            phase = ((i / RIPPLE_FRAMES) + ring / 3) % 1.0
            r = round(inner + (outer - inner) * phase)
            color = _blend(theme.ACCENT, theme.BACKGROUND, 0.55 * (1 - phase))
            for w in range(max(2, side // 90)):
                pygame.gfxdraw.aacircle(frame, c, c, r - w, color)
        frame.blit(card, (c - card.get_width() // 2, c - card.get_height() // 2))
        frames.append(frame)
    return tuple(frames)


@lru_cache(maxsize=4)
def spinner_frames(side: int) -> tuple[pygame.Surface, ...]:
    frames = []
    dots = 12
    for i in range(SPINNER_FRAMES):
        frame = pygame.Surface((side, side))
        frame.fill(theme.BACKGROUND)
        c, r, dot = side // 2, side * 0.38, max(3, side // 14)
        for d in range(dots):
            age = (i - d) % dots
            alpha = max(0.15, 1 - age / dots * 1.2)
            angle = 2 * math.pi * d / dots - math.pi / 2
            x, y = round(c + r * math.cos(angle)), round(c + r * math.sin(angle))
            color = _blend(theme.ACCENT, theme.BACKGROUND, alpha)
            pygame.gfxdraw.filled_circle(frame, x, y, dot, color)
            pygame.gfxdraw.aacircle(frame, x, y, dot, color)
        frames.append(frame)
    return tuple(frames)


class IdleScreen(Screen):
    # The attract screen's one touch target is the language switch: polling it twice per ripple
    # frame (every 83 ms, on the same grid as the frames) still answers a touch within the 100 ms
    # that feels instant, with 12 wake-ups a second instead of 30. Cards do not wait for this poll,
    # and where the loop can wait on the input devices themselves (UiLoop.inputs) nothing is polled.
    input_hz = 2 * RIPPLE_FPS

    def __init__(self, ctx: RenderContext, state: Idle) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        lay = ctx.layout
        body = pygame.Rect(
            lay.margin, lay.header.bottom, lay.width - 2 * lay.margin, lay.footer.top - lay.header.bottom
        )
        art, self.words_rect = split(
            body, [1.0, 1.25] if lay.landscape else [1.3, 1.0], lay.gap, horizontal=lay.landscape
        )
        side = min(art.w, art.h)
        self.art_rect = pygame.Rect(0, 0, side, side)
        self.art_rect.center = art.center
        self.dynamic.append(FrameLoop(self.art_rect, list(ripple_frames(side)), RIPPLE_FPS))
        foot = lay.footer
        self.clock_rect = pygame.Rect(lay.margin, foot.y, lay.width - 2 * lay.margin, foot.h - lay.gap)
        self.dynamic.append(TextTicker(self.clock_rect, self._clock_text, self._paint_clock, theme.BACKGROUND))

    def _clock_text(self) -> str:
        now = self.ctx.now()
        return f"{time_text(now, self.ctx.tz)}|{clock_date_text(now, self.ctx.tz, self.ctx.locale)}"

    def _paint_clock(self, surface: pygame.Surface, rect: pygame.Rect, text: str) -> None:
        clock, date = text.split("|", 1)
        big = render_text(self.ctx, clock, self.ctx.layout.type_size("big"), theme.TEXT, bold=True)
        where = blit_aligned(surface, big, rect, "left", "center")
        rest = pygame.Rect(where.right + self.ctx.layout.gap * 2, rect.y, rect.right - where.right, rect.h)
        draw_text(surface, self.ctx, date, rest, style="body", color=theme.TEXT_SECONDARY)

    def draw_header(self, surface: pygame.Surface) -> None:
        # The idle header has no panel: the store name sits on the background like a sign.
        lay = self.ctx.layout
        head = lay.header
        right_edge = self.buttons[0].rect.x - lay.gap * 2
        status = draw_status(surface, self.ctx, self.online, pygame.Rect(0, head.y, right_edge, head.h))
        draw_text(
            surface,
            self.ctx,
            self.state.store_name,
            pygame.Rect(lay.margin, head.y, status.x - lay.margin - lay.gap * 2, head.h),
            style="title",
            bold=True,
        )

    def draw_body(self, surface: pygame.Surface) -> None:
        lay = self.ctx.layout
        words = self.words_rect
        title_h = round(lay.type_size("big") * 1.35 * 2)
        rows = pygame.Rect(words.x, words.centery - title_h // 2 - lay.gap * 2, words.w, title_h)
        draw_paragraph(
            surface,
            self.ctx,
            self.ctx.t("tap_card"),
            rows,
            style="big",
            bold=True,
            align="left" if lay.landscape else "center",
            max_lines=2,
        )
        hint = pygame.Rect(words.x, rows.bottom + lay.gap, words.w, lay.type_size("body") * 2)
        draw_text(
            surface,
            self.ctx,
            self.ctx.t("tap_card_hint"),
            hint,
            style="body",
            color=theme.TEXT_SECONDARY,
            align="left" if lay.landscape else "center",
            valign="top",
        )


class ReadingScreen(Screen):
    """Shown while the card is read and verified: a spinner and "keep the card in place"."""

    show_locale_button = False

    def __init__(self, ctx: RenderContext, online: bool = True) -> None:
        super().__init__(ctx, online)
        lay = ctx.layout
        side = round(lay.unit * 30)
        self.spin_rect = pygame.Rect(0, 0, side, side)
        self.spin_rect.center = (lay.width // 2, round(lay.height * 0.4))
        self.dynamic.append(FrameLoop(self.spin_rect, list(spinner_frames(side)), SPINNER_FPS))

    def draw_header(self, surface: pygame.Surface) -> None:
        """No header while reading: the spinner has the whole screen."""

    def draw_body(self, surface: pygame.Surface) -> None:
        lay = self.ctx.layout
        y = self.spin_rect.bottom + lay.gap * 2
        title = pygame.Rect(lay.margin, y, lay.width - 2 * lay.margin, round(lay.type_size("title") * 1.5))
        draw_text(surface, self.ctx, self.ctx.t("reading"), title, style="title", bold=True, align="center")
        hint = pygame.Rect(lay.margin, title.bottom + lay.gap, title.w, round(lay.type_size("body") * 1.5))
        draw_text(
            surface,
            self.ctx,
            self.ctx.t("reading_hint"),
            hint,
            style="body",
            color=theme.TEXT_SECONDARY,
            align="center",
        )
