"""The moment after a daily check-in (每日签到): a tick, "+5 points", the streak it makes and the
bonus, if the day earned one; offline, that the points sync later.

It shows for a few seconds (the session goes back to the member screen by itself) and an OK
button goes back at once; the member's name and tier stay in the header, as on every member screen.
"""

from __future__ import annotations

import pygame

from kiosk.ui_state import Back, CheckedIn, Done
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.member import draw_member_header
from screens.text import points
from screens.widgets import blit_aligned, draw_text, footer_buttons, notice_icon


class CheckedInScreen(Screen):
    def __init__(self, ctx: RenderContext, state: CheckedIn) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        self.buttons += footer_buttons(
            ctx, [(ctx.t("ok"), Back(), "primary", 1.4), (ctx.t("done"), Done(), "secondary", 1.0)]
        )

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def lines(self) -> list[tuple[str, str, theme.Color]]:
        """(style, text, colour) of what the screen says under the tick, top to bottom."""
        ctx, result = self.ctx, self.state.result
        out = [
            ("title", ctx.t("checked_in_title"), theme.SUCCESS),
            ("huge", ctx.t("checked_in_points", points=points(result.points)), theme.ACCENT),
            ("body", ctx.t("checkin_streak", days=result.streak), theme.TEXT),
        ]
        if result.bonus:
            out.append(
                ("body", ctx.t("checked_in_bonus", days=result.streak, bonus=points(result.bonus)), theme.CELEBRATION)
            )
        if result.offline:
            out.append(("small", ctx.t("checked_in_offline"), theme.OFFLINE))
        return out

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        body = lay.content
        lines = self.lines()
        heights = [round(lay.type_size(style) * 1.35) for style, _, _ in lines]
        side = round(min(body.h * 0.3, body.w * 0.25))
        total = side + lay.gap * 2 + sum(heights) + lay.gap * (len(lines) - 1)
        if total > body.h:  # a short landscape panel: the tick gives way to the words
            side = max(0, side - (total - body.h))
            total = body.h
        y = body.y + max(0, (body.h - total) // 2)
        if side > 0:
            blit_aligned(
                surface, notice_icon("ok", theme.SUCCESS, side), pygame.Rect(body.x, y, body.w, side), "center"
            )
            y += side + lay.gap * 2
        for (style, text, color), h in zip(lines, heights):
            rect = pygame.Rect(body.x + lay.margin, y, body.w - 2 * lay.margin, h)
            draw_text(surface, ctx, text, rect, style=style, bold=style != "small", align="center", color=color)
            y += h + lay.gap
