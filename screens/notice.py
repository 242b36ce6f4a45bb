"""Notices instead of member data: not a member card, blocked (lost), rejected, reader fault,
offline limit, out of service, redemption failed, card removed too soon, redemption pending.

Each kind has its own icon, colour, title and explanation; the `detail` code is printed small for
staff. Nothing about the member is ever shown here.
"""

from __future__ import annotations

import pygame

from kiosk.model import NoticeKind
from kiosk.ui_state import Done, Notice
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.widgets import blit_aligned, draw_paragraph, draw_text, footer_buttons, notice_icon

#: (icon symbol, colour) per notice kind: red for "this card will not work", amber for "try later".
NOTICE_LOOK: dict[NoticeKind, tuple[str, theme.Color]] = {
    NoticeKind.NOT_A_MEMBER_CARD: ("i", theme.INFO),
    NoticeKind.CARD_BLOCKED: ("x", theme.ERROR),
    NoticeKind.CARD_REJECTED: ("x", theme.ERROR),
    NoticeKind.READER_FAULT: ("!", theme.WARNING),
    NoticeKind.OFFLINE_LIMIT: ("!", theme.OFFLINE),
    NoticeKind.OUT_OF_SERVICE: ("!", theme.ERROR),
    NoticeKind.REDEMPTION_FAILED: ("!", theme.WARNING),
    NoticeKind.CARD_REMOVED_TOO_SOON: ("i", theme.INFO),
    NoticeKind.REDEMPTION_PENDING: ("i", theme.WARNING),
    NoticeKind.CLOCK_UNTRUSTED: ("!", theme.OFFLINE),
}

#: Notices the shopper cannot dismiss: the kiosk leaves them when its condition clears.
NO_BUTTON = frozenset({NoticeKind.OUT_OF_SERVICE})


class NoticeScreen(Screen):
    def __init__(self, ctx: RenderContext, state: Notice) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        if state.kind not in NO_BUTTON:
            self.buttons += footer_buttons(ctx, [(ctx.t("ok"), Done(), "primary", 1.0)])
            # One centred button, not a full-width bar: narrow it to a comfortable size.
            button = self.buttons[-1]
            width = max(ctx.layout.min_target * 3, round(ctx.layout.width * 0.4))
            button.rect = pygame.Rect(0, button.rect.y, width, button.rect.h)
            button.rect.centerx = ctx.layout.width // 2

    def header_title(self) -> str:
        return ""

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx, lay, kind = self.ctx, self.ctx.layout, self.state.kind
        body = lay.content
        symbol, color = NOTICE_LOOK.get(kind, ("!", theme.WARNING))
        side = round(min(body.h * 0.42, body.w * (0.3 if lay.landscape else 0.4)))
        icon = notice_icon(symbol, color, side)
        title_h = round(lay.type_size("title") * 1.4)
        hint_h = round(lay.type_size("body") * 1.35 * 2)
        total = side + lay.gap * 2 + title_h + lay.gap + hint_h
        top = body.y + max(0, (body.h - total) // 2)
        icon_rect = pygame.Rect(body.x, top, body.w, side)
        blit_aligned(surface, icon, icon_rect, "center", "center")
        title = pygame.Rect(body.x, icon_rect.bottom + lay.gap * 2, body.w, title_h)
        draw_text(
            surface, ctx, ctx.t(f"notice_{kind.value}"), title, style="title", bold=True, align="center", color=color
        )
        hint = pygame.Rect(body.x, title.bottom + lay.gap, body.w, hint_h)
        draw_paragraph(
            surface, ctx, ctx.t(f"notice_{kind.value}_hint"), hint, style="body", color=theme.TEXT, max_lines=2
        )
        if self.state.detail:
            code = pygame.Rect(
                lay.margin,
                lay.footer.bottom - round(lay.type_size("small") * 1.6),
                lay.width - 2 * lay.margin,
                round(lay.type_size("small") * 1.4),
            )
            if self.state.kind not in NO_BUTTON:
                code.y = lay.header.bottom + lay.gap
            draw_text(
                surface,
                ctx,
                ctx.t("staff_code", detail=self.state.detail[:40]),
                code,
                style="small",
                color=theme.TEXT_DISABLED,
                align="right",
            )
