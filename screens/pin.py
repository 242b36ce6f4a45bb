"""The PIN keypad before a redemption: shuffled digits, masked dots, delete, OK and cancel.

The digits sit in the order the state gives (`PinEntry.keys`, shuffled by the session for every
keypad shown), so a smudge pattern or a glance over the shoulder at finger positions says nothing
about the PIN. Typed digits are never drawn, not even for a moment: only dots, one per digit. After
a wrong PIN the keypad says how many tries are left. When the member's redemptions are locked, or
the rules ask for a PIN the member has not set, the keys give way to where to go instead: the
service desk.

Landscape: what is being redeemed, the dots and the message on the left, the 4x3 keypad on the
right. Portrait: the same stacked, the keypad below.
"""

from __future__ import annotations

import pygame
import pygame.gfxdraw

from kiosk.model import local
from kiosk.ui_state import PIN_LOCKED, Back, Done, PinDelete, PinDigit, PinEntry, PinSubmit
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import split, split_columns, split_rows
from screens.member import draw_member_header
from screens.text import points
from screens.widgets import Button, blit_aligned, draw_paragraph, draw_text, footer_buttons, notice_icon

#: Dots shown: the longest PIN. The first four are the minimum, drawn stronger than the optional two.
DOTS = 6
MIN_DIGITS = 4


class PinScreen(Screen):
    title_key = "pin_title"

    def __init__(self, ctx: RenderContext, state: PinEntry) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        lay = ctx.layout
        body = lay.content
        if state.blocked is not None:
            self.info_rect = body
            self.buttons += footer_buttons(
                ctx, [(ctx.t("back"), Back(), "secondary", 1.0), (ctx.t("done"), Done(), "primary", 1.0)]
            )
            return
        if lay.landscape:
            self.info_rect, self.pad_rect = split(body, [1.0, 1.0], lay.gap * 2, horizontal=True)
        else:
            self.info_rect, self.pad_rect = split(body, [0.8, 1.0], lay.gap * 2, horizontal=False)
        self.buttons += self._keypad(state)
        self.buttons += footer_buttons(ctx, [(ctx.t("cancel"), Back(), "secondary", 1.0)])
        # One centred cancel button, as on the notices: the keypad above is the way on.
        cancel = self.buttons[-1]
        width = max(lay.min_target * 3, round(lay.width * 0.4))
        cancel.rect = pygame.Rect(0, cancel.rect.y, width, cancel.rect.h)
        cancel.rect.centerx = lay.width // 2

    def _keypad(self, state: PinEntry) -> list[Button]:
        """Ten digit keys in the state's order on the first ten cells (delete and OK in the bottom
        corners), each at least the physical minimum target."""
        ctx, lay = self.ctx, self.ctx.layout
        rows = split_rows(self.pad_rect, [1.0] * 4, lay.gap)
        cells = [cell for row in rows for cell in split_columns(row, [1.0] * 3, lay.gap)]
        digits = list(state.keys)
        # Cells 0..8 take the first nine digits; the bottom row is delete, the tenth digit, OK.
        order = [*range(9), 10]
        keys = [
            Button(rect=cells[cell], label=str(digit), intent=PinDigit(digit), key=f"digit{digit}")
            for cell, digit in zip(order, digits, strict=True)
        ]
        keys.append(Button(rect=cells[9], label=ctx.t("pin_delete"), intent=PinDelete(), key="pindelete"))
        ok = Button(rect=cells[11], label=ctx.t("ok"), intent=PinSubmit(), kind="primary", key="pinsubmit")
        ok.enabled = state.entered >= MIN_DIGITS
        keys.append(ok)
        return keys

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        if self.state.blocked is not None:
            self._draw_blocked(surface)
            return
        ctx, lay, state = self.ctx, self.ctx.layout, self.state
        info = self.info_rect
        title_h = round(lay.type_size("title") * 1.4)
        line_h = round(lay.type_size("body") * 1.5)
        dots_h = round(lay.unit * 10)
        total = title_h + line_h + lay.gap * 2 + dots_h + lay.gap * 2 + line_h * 2
        y = info.y + max(0, (info.h - total) // 2)
        draw_text(surface, ctx, ctx.t("pin_title"), pygame.Rect(info.x, y, info.w, title_h), style="title", bold=True)
        y += title_h
        what = f"{local(state.option.name, ctx.locale)}  ·  {ctx.t('cost', points=points(state.option.cost_points))}"
        draw_text(surface, ctx, what, pygame.Rect(info.x, y, info.w, line_h), style="body", color=theme.TEXT_SECONDARY)
        y += line_h + lay.gap * 2
        self._draw_dots(surface, pygame.Rect(info.x, y, info.w, dots_h))
        y += dots_h + lay.gap * 2
        if state.failures_left is not None:
            message, color = ctx.t("pin_wrong", tries=state.failures_left), theme.ERROR
        else:
            message, color = ctx.t("pin_hint"), theme.TEXT_SECONDARY
        draw_paragraph(
            surface,
            ctx,
            message,
            pygame.Rect(info.x, y, info.w, line_h * 2),
            style="body",
            color=color,
            align="left",
            max_lines=2,
            bold=state.failures_left is not None,
        )

    def _draw_dots(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        lay = self.ctx.layout
        radius = max(6, min(rect.h // 3, round(lay.unit * 3)))
        step = radius * 3
        x = rect.x + radius
        for i in range(DOTS):
            center = (x + i * step, rect.centery)
            if i < self.state.entered:
                pygame.gfxdraw.filled_circle(surface, *center, radius, theme.ACCENT)
                pygame.gfxdraw.aacircle(surface, *center, radius, theme.ACCENT)
            else:
                color = theme.TEXT_SECONDARY if i < MIN_DIGITS else theme.DIVIDER
                pygame.draw.circle(surface, color, center, radius, width=max(2, radius // 4))

    def _draw_blocked(self, surface: pygame.Surface) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        body = self.info_rect
        locked = self.state.blocked == PIN_LOCKED
        kind = "pin_locked" if locked else "pin_not_set"
        side = round(min(body.h * 0.42, body.w * (0.3 if lay.landscape else 0.4)))
        icon = notice_icon("x" if locked else "i", theme.ERROR if locked else theme.WARNING, side)
        title_h = round(lay.type_size("title") * 1.4)
        hint_h = round(lay.type_size("body") * 1.35 * 2)
        total = side + lay.gap * 2 + title_h + lay.gap + hint_h
        top = body.y + max(0, (body.h - total) // 2)
        icon_rect = pygame.Rect(body.x, top, body.w, side)
        blit_aligned(surface, icon, icon_rect, "center", "center")
        title = pygame.Rect(body.x, icon_rect.bottom + lay.gap * 2, body.w, title_h)
        color = theme.ERROR if locked else theme.WARNING
        draw_text(surface, ctx, ctx.t(kind), title, style="title", bold=True, align="center", color=color)
        hint = pygame.Rect(body.x, title.bottom + lay.gap, body.w, hint_h)
        draw_paragraph(surface, ctx, ctx.t(f"{kind}_hint"), hint, style="body", color=theme.TEXT, max_lines=2)
