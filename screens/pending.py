"""A redemption waiting for the member's card, shown instead of the member screen.

When a card was pulled before a redemption's card write finished, and the write was cut short
again at the next tap, the redemption is still pending: points held, no voucher yet. The member
must see that, and what it is, rather than their account, whose unchanged points would invite
them to redeem a second time. So this screen names the reward and the points held, says to hold
the card on the reader again, and offers no rewards: only "done".
"""

from __future__ import annotations

import pygame

from kiosk.model import local
from kiosk.ui_state import Done, RedemptionAwaitingCard
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import split
from screens.member import draw_member_header
from screens.text import points
from screens.widgets import blit_aligned, card_icon, draw_panel, draw_paragraph, draw_text, footer_buttons


class PendingRedemptionScreen(Screen):
    def __init__(self, ctx: RenderContext, state: RedemptionAwaitingCard) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        self.buttons += footer_buttons(ctx, [(ctx.t("done"), Done(), "secondary", 1.0)])
        # One centred button, as on the notices: the only way on is the card, or leaving.
        button = self.buttons[-1]
        width = max(ctx.layout.min_target * 3, round(ctx.layout.width * 0.4))
        button.rect = pygame.Rect(0, button.rect.y, width, button.rect.h)
        button.rect.centerx = ctx.layout.width // 2

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        lay = self.ctx.layout
        body = lay.content
        text_h = self.text_height()
        if lay.landscape:
            # Side by side: the card to hold on the left, what is pending and what to do on the right.
            icon_area, text_area = split(body, [0.3, 0.7], lay.gap * 2, horizontal=True)
            side = min(icon_area.w, round(icon_area.h * 0.8))
            text_rect = pygame.Rect(text_area.x, text_area.centery - text_h // 2, text_area.w, text_h)
        else:
            side = round(min(body.w * 0.45, body.h - text_h - lay.gap * 2))
            top = body.y + max(0, (body.h - side - lay.gap * 2 - text_h) // 2)
            icon_area = pygame.Rect(body.x, top, body.w, side)
            text_rect = pygame.Rect(body.x, icon_area.bottom + lay.gap * 2, body.w, text_h)
        blit_aligned(surface, card_icon(max(side, 1)), icon_area, "center", "center")
        self.draw_text_block(surface, text_rect)

    def text_height(self) -> int:
        lay = self.ctx.layout
        return self._title_h() + lay.gap + self._panel_h() + lay.gap * 2 + self._hint_h()

    def _title_h(self) -> int:
        return round(self.ctx.layout.type_size("title") * 1.4)

    def _line_h(self) -> int:
        return round(self.ctx.layout.type_size("body") * 1.4)

    def _panel_h(self) -> int:
        return self._line_h() * 2 + self.ctx.layout.gap * 2

    def _hint_h(self) -> int:
        return round(self.ctx.layout.type_size("body") * 1.35 * 2)

    def draw_text_block(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        ctx, lay, pending = self.ctx, self.ctx.layout, self.state.pending
        title = pygame.Rect(rect.x, rect.y, rect.w, self._title_h())
        draw_text(
            surface, ctx, ctx.t("pending_title"), title, style="title", bold=True, align="center", color=theme.WARNING
        )
        # What is pending: the reward, and the points held for it (not yet taken).
        panel = pygame.Rect(0, title.bottom + lay.gap, min(rect.w, round(lay.width * 0.8)), self._panel_h())
        panel.centerx = rect.centerx
        draw_panel(surface, ctx, panel)
        line = pygame.Rect(panel.x + lay.gap * 2, panel.y + lay.gap, panel.w - lay.gap * 4, self._line_h())
        draw_text(surface, ctx, local(pending.reward_name, ctx.locale), line, style="body", bold=True, align="center")
        draw_text(
            surface,
            ctx,
            ctx.t("pending_points_held", points=points(pending.cost_points)),
            line.move(0, self._line_h()),
            style="body",
            color=theme.TEXT_SECONDARY,
            align="center",
        )
        hint = pygame.Rect(rect.x, panel.bottom + lay.gap * 2, rect.w, self._hint_h())
        draw_paragraph(surface, ctx, ctx.t("pending_hint"), hint, style="body", color=theme.TEXT, max_lines=2)
