"""积分明细 / Points history: the member's last point movements, newest first, in a list that
scrolls by touch.

Each row: what happened (a label per kind), when (store time) and where (the store of a purchase,
the kiosk of a redemption), and the points, signed (+120 / −800). This kiosk's own redemptions
that HQ has not confirmed yet carry "待确认 / Pending". Upcoming expiries are not repeated here:
they belong to the member screen, which shows them as they stand now.
"""

from __future__ import annotations

import pygame

from kiosk.model import HistoryItem
from kiosk.ui_state import Back, Done, MemberHistory
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import inset
from screens.member import draw_member_header
from screens.scrolllist import ScrollList
from screens.text import STRINGS, datetime_text, points
from screens.widgets import draw_panel, draw_paragraph, draw_text, footer_buttons, render_text

#: U+2212, not the hyphen: the same width as "+", so the columns of points line up.
MINUS = "\u2212"


def signed_points(value: int) -> str:
    """+120 / −800 / 0."""
    if value > 0:
        return f"+{points(value)}"
    if value < 0:
        return f"{MINUS}{points(-value)}"
    return "0"


def kind_label(ctx: RenderContext, kind: str) -> str:
    """The label of an entry kind; a kind a newer HQ invented gets the generic one."""
    key = f"history_{kind}"
    return ctx.t(key if key in STRINGS else "history_other")


class HistoryScreen(Screen):
    title_key = "history_title"

    def __init__(self, ctx: RenderContext, state: MemberHistory) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        self.items: tuple[HistoryItem, ...] = state.items
        self.buttons += footer_buttons(
            ctx, [(ctx.t("back"), Back(), "secondary", 1.0), (ctx.t("done"), Done(), "secondary", 1.0)]
        )
        lay = ctx.layout
        body = lay.content
        # A title line over the list: the header shows whose history it is, this says what it is.
        self.title_rect = pygame.Rect(body.x, body.y, body.w, round(lay.type_size("title") * 1.5))
        list_top = self.title_rect.bottom + lay.gap
        list_rect = pygame.Rect(body.x, list_top, body.w, body.bottom - list_top)
        # Rows are read, not tapped, but a finger drags them: keep them a finger high at least.
        row_h = max(lay.min_target, round(lay.type_size("body") * 1.4 + lay.type_size("small") * 1.4 + lay.gap * 1.6))
        self.list = ScrollList(list_rect, row_h, len(self.items), lay.gap)

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx = self.ctx
        now_text = ctx.t("points_available", points=points(self.state.member.points))
        tag = render_text(ctx, now_text, ctx.layout.type_size("body"), theme.TEXT_SECONDARY)
        title = self.title_rect.copy()
        title.w -= tag.get_width() + ctx.layout.gap * 2
        draw_text(surface, ctx, ctx.t("history_title"), title, style="title", bold=True)
        draw_text(surface, ctx, now_text, self.title_rect, style="body", color=theme.TEXT_SECONDARY, align="right")
        if not self.items:
            draw_paragraph(
                surface, ctx, ctx.t("history_empty"), self.list.rect, style="title", color=theme.TEXT_SECONDARY
            )
            return
        self.list.draw(surface, self.draw_row)

    def draw_row(self, surface: pygame.Surface, index: int, rect: pygame.Rect) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        item = self.items[index]
        draw_panel(surface, ctx, rect)
        inner = inset(rect, lay.gap * 2, round(lay.gap * 0.8))
        half = inner.h // 2
        top = pygame.Rect(inner.x, inner.y, inner.w, half)
        bottom = pygame.Rect(inner.x, inner.y + half, inner.w, inner.h - half)
        # The points first, at their full size: a number is never cut; the texts take what is left.
        color = theme.SUCCESS if item.points > 0 else theme.TEXT
        amount = draw_text(surface, ctx, signed_points(item.points), top, style="title", bold=True, color=color,
                           align="right", min_scale=1.0)  # fmt: skip
        right_edge = inner.right
        if item.pending:
            pending = draw_text(surface, ctx, ctx.t("history_pending"), bottom, style="small", bold=True,
                                color=theme.OFFLINE, align="right")  # fmt: skip
            right_edge = pending.x - lay.gap * 2
        label_rect = pygame.Rect(top.x, top.y, amount.x - lay.gap * 2 - top.x, top.h)
        draw_text(surface, ctx, kind_label(ctx, item.kind), label_rect, style="body", bold=True)
        when = datetime_text(item.at, ctx.tz, ctx.locale)
        detail = f"{when}  ·  {item.place}" if item.place else when
        detail_rect = pygame.Rect(bottom.x, bottom.y, right_edge - bottom.x, bottom.h)
        draw_text(surface, ctx, detail, detail_rect, style="small", color=theme.TEXT_SECONDARY, min_scale=0.8)

    def scroll(self, dy: float) -> pygame.Rect | None:
        return self.list.rect if self.list.scroll(dy) else None
