"""The voucher just issued (QR code, short code, value, expiry, "show this at the till") and the
member's vouchers (a list; tapping one shows its QR code).

Only a usable voucher (issued, or reversed: the till voided the sale) ever shows its QR code. A
used, cancelled or expired one shows "This voucher cannot be used" and why in its place, so a
member never presents a code the till must refuse. What HQ reported (used at a till, cancelled,
returned) is shown with its time and store: "Used 03-12 14:05 · store-1".
"""

from __future__ import annotations

import pygame

from kiosk.model import VoucherState, VoucherView, local
from kiosk.ui_state import Back, Done, Intent, MyVouchers, VoucherIssued
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import inset, split, split_rows
from screens.member import draw_member_header
from screens.scrolllist import ScrollList
from screens.text import date_text, money_short, short_datetime_text
from screens.widgets import (
    Align,
    blit_aligned,
    draw_panel,
    draw_paragraph,
    draw_text,
    footer_buttons,
    notice_icon,
    qr_surface,
    render_text,
)

STATE_COLORS = {
    VoucherState.ISSUED: theme.SUCCESS,
    VoucherState.USED: theme.TEXT_DISABLED,
    VoucherState.EXPIRED: theme.OFFLINE,
    VoucherState.CANCELLED: theme.ERROR,
    VoucherState.REVERSED: theme.SUCCESS,
}
#: States HQ reports with a time and a store (a till's doing, or an operator's).
_EVENT_STATES = (VoucherState.USED, VoucherState.CANCELLED, VoucherState.REVERSED)


def draw_qr_panel(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, code: str) -> pygame.Rect:
    """A white square with the largest crisp QR symbol that fits; returns the symbol's rect."""
    side = min(rect.w, rect.h)
    paper = pygame.Rect(0, 0, side, side)
    paper.center = rect.center
    pygame.draw.rect(surface, theme.QR_PAPER, paper, border_radius=ctx.layout.radius)
    symbol = qr_surface(code, side)
    return blit_aligned(surface, symbol, paper, "center", "center")


def state_event_text(ctx: RenderContext, voucher: VoucherView) -> str | None:
    """ "Used 03-12 14:05 · store-1": what HQ reported, when and where; None when it said neither."""
    if voucher.state not in _EVENT_STATES or (voucher.state_at is None and not voucher.state_store):
        return None
    head = ctx.t(f"state_event_{voucher.state.value}")
    if voucher.state_at is not None:
        head += " " + short_datetime_text(voucher.state_at, ctx.tz)
    return f"{head} · {voucher.state_store}" if voucher.state_store else head


def unusable_reason(ctx: RenderContext, voucher: VoucherView) -> str | None:
    """Why the voucher cannot be used, under "This voucher cannot be used"; None when it can."""
    if voucher.state.usable:
        return None
    if voucher.state is VoucherState.EXPIRED:
        return ctx.t("why_expired", date=date_text(voucher.expires_at, ctx.tz, ctx.locale))
    return ctx.t(f"why_{voucher.state.value}")


def draw_unusable_panel(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, voucher: VoucherView) -> None:
    """Where the QR code would be: "This voucher cannot be used", why, and when and where."""
    lay = ctx.layout
    draw_panel(surface, ctx, rect)
    event = state_event_text(ctx, voucher)
    rows = split_rows(inset(rect, lay.gap * 2), [1.3, 1.0, 1.0] if event else [1.3, 1.0], lay.gap)
    draw_paragraph(surface, ctx, ctx.t("not_usable"), rows[0], style="body", bold=True, max_lines=2)
    draw_paragraph(
        surface, ctx, unusable_reason(ctx, voucher) or "", rows[1], style="small", color=theme.TEXT_SECONDARY
    )
    if event:
        # One line, shrunk rather than wrapped: "03-12 / 14:05" split over two lines reads badly.
        draw_text(surface, ctx, event, rows[2], style="small", align="center", min_scale=0.5)


def draw_code_or_reason(surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, voucher: VoucherView) -> None:
    """The QR code of a usable voucher; for any other, why it cannot be used (and no code at all)."""
    if voucher.state.usable:
        draw_qr_panel(surface, ctx, rect, voucher.code)
    else:
        draw_unusable_panel(surface, ctx, rect, voucher)


def spaced_code(short_code: str) -> str:
    """Short codes are read aloud at the till: thin gaps between characters make that easier."""
    return "\u2009".join(short_code)


class VoucherScreen(Screen):
    title_key = "voucher_title"

    def __init__(self, ctx: RenderContext, state: VoucherIssued) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        self.buttons += footer_buttons(
            ctx, [(ctx.t("back"), Back(), "secondary", 1.0), (ctx.t("done"), Done(), "primary", 1.4)]
        )
        lay = ctx.layout
        body = lay.content
        if lay.landscape:
            self.qr_rect, self.info_rect = split(body, [1.0, 1.5], lay.gap * 3, horizontal=True)
            self.qr_rect.w = min(self.qr_rect.w, body.h)
            self.info_rect = pygame.Rect(
                self.qr_rect.right + lay.gap * 3, body.y, body.right - self.qr_rect.right - lay.gap * 3, body.h
            )
        else:
            self.qr_rect, self.info_rect = split(body, [1.15, 1.0], lay.gap * 2, horizontal=False)

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        side = round(rect.h * 0.55)
        icon = notice_icon("ok", theme.SUCCESS, side)
        where = blit_aligned(surface, icon, rect, "left", "center")
        title = pygame.Rect(where.right + self.ctx.layout.gap * 2, rect.y, rect.right - where.right, rect.h)
        draw_text(surface, self.ctx, self.header_title(), title, style="title", bold=True)

    def draw_body(self, surface: pygame.Surface) -> None:
        voucher = self.state.voucher
        # Only ever a fresh voucher here, but a replayed redemption returns the stored one, which
        # HQ may have marked used since.
        draw_code_or_reason(surface, self.ctx, self.qr_rect, voucher)
        draw_voucher_facts(
            surface, self.ctx, self.info_rect, voucher, align="left" if self.ctx.layout.landscape else "center"
        )


def draw_voucher_facts(
    surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, voucher: VoucherView, align: Align = "left"
) -> None:
    """Name, value, short code, expiry and the till instruction, top to bottom."""
    lay = ctx.layout
    rows: list[tuple[str, str, theme.Color, bool, float]] = [
        (local(voucher.reward_name, ctx.locale), "title", theme.TEXT, True, 1.3),
        (ctx.t("value", amount=money_short(voucher.value_fen)), "body", theme.TEXT_SECONDARY, False, 1.4),
        (ctx.t("short_code"), "label", theme.TEXT_SECONDARY, False, 1.3),
        (spaced_code(voucher.short_code), "big", theme.ACCENT, True, 1.2),
        (ctx.t("expires", date=date_text(voucher.expires_at, ctx.tz, ctx.locale)), "body", theme.TEXT, False, 1.5),
    ]
    heights = [round(lay.type_size(style) * k) for _, style, _, _, k in rows]
    till_h = round(lay.type_size("body") * 2.0)
    total = sum(heights) + till_h + lay.gap
    y = rect.y + max(0, (rect.h - total) // 2)
    for (text, style, color, bold, _), h in zip(rows, heights):
        draw_text(
            surface,
            ctx,
            text,
            pygame.Rect(rect.x, y, rect.w, h),
            style=style,
            color=color,
            bold=bold,
            align=align,
            min_scale=0.4,
        )
        y += h
    y += lay.gap
    till = pygame.Rect(rect.x, y, rect.w, till_h)
    draw_panel(surface, ctx, till, theme.PANEL_RAISED)
    label = ctx.t("show_at_till") if voucher.state.usable else ctx.t("not_usable")
    if voucher.offline:
        label += "  ·  " + ctx.t("issued_offline")
    draw_text(surface, ctx, label, inset(till, lay.gap * 2, 0), style="body", bold=True, align="center")


class VouchersScreen(Screen):
    """My vouchers: a list; the selected usable voucher's QR code is shown beside (or above) it."""

    title_key = "vouchers_title"

    def __init__(self, ctx: RenderContext, state: MyVouchers) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        # Usable vouchers first, soonest to expire first; then the rest, newest first.
        usable = sorted((v for v in state.vouchers if v.state.usable), key=lambda v: v.expires_at)
        rest = sorted((v for v in state.vouchers if not v.state.usable), key=lambda v: v.issued_at, reverse=True)
        self.vouchers: list[VoucherView] = usable + rest
        self.selected = 0
        self.buttons += footer_buttons(
            ctx, [(ctx.t("back"), Back(), "secondary", 1.0), (ctx.t("done"), Done(), "secondary", 1.0)]
        )
        lay = ctx.layout
        body = lay.content
        if lay.landscape:
            list_rect, self.qr_rect = split(body, [1.5, 1.0], lay.gap * 3, horizontal=True)
            self.qr_rect.h = min(self.qr_rect.h, self.qr_rect.w)
            self.qr_rect.centery = body.centery
        else:
            self.qr_rect, list_rect = split(body, [1.0, 1.05], lay.gap * 2, horizontal=False)
        row_h = max(round(lay.min_target * 1.5), round(lay.unit * 16))
        self.list = ScrollList(list_rect, row_h, len(self.vouchers), lay.gap)

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx = self.ctx
        if not self.vouchers:
            draw_paragraph(
                surface, ctx, ctx.t("no_vouchers"), ctx.layout.content, style="title", color=theme.TEXT_SECONDARY
            )
            return
        self.list.draw(surface, self.draw_row)
        draw_code_or_reason(surface, ctx, self.qr_rect, self.vouchers[self.selected])

    def draw_row(self, surface: pygame.Surface, index: int, rect: pygame.Rect) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        voucher = self.vouchers[index]
        usable = voucher.state.usable
        chosen = index == self.selected
        draw_panel(surface, ctx, rect, theme.PANEL_RAISED if chosen else theme.PANEL)
        if chosen:
            pygame.draw.rect(
                surface, theme.ACCENT, rect, width=max(2, round(lay.unit * 0.6)), border_radius=lay.radius * 2
            )
        inner = inset(rect, lay.gap * 2, lay.gap)
        half = inner.h // 2
        text_color = theme.TEXT if usable else theme.TEXT_DISABLED
        state_text = ctx.t(f"state_{voucher.state.value}")
        tag = render_text(ctx, state_text, lay.type_size("small"), STATE_COLORS[voucher.state], bold=True)
        top = pygame.Rect(inner.x, inner.y, inner.w, half)
        blit_aligned(surface, tag, top, "right", "center")
        name = f"{local(voucher.reward_name, ctx.locale)}  {money_short(voucher.value_fen)}"
        draw_text(
            surface,
            ctx,
            name,
            pygame.Rect(inner.x, inner.y, inner.w - tag.get_width() - lay.gap * 2, half),
            style="body",
            bold=True,
            color=text_color,
        )
        # What HQ reported, when and where, takes the expiry's place: for a used or cancelled
        # voucher the expiry no longer matters, and the row has room for one of the two.
        detail = state_event_text(ctx, voucher) or ctx.t(
            "expires", date=date_text(voucher.expires_at, ctx.tz, ctx.locale)
        )
        line = f"{voucher.short_code}  ·  {detail}"
        draw_text(
            surface,
            ctx,
            line,
            pygame.Rect(inner.x, inner.y + half, inner.w, half),
            style="small",
            color=theme.TEXT_SECONDARY if usable else theme.TEXT_DISABLED,
        )

    def tap(self, pos: tuple[int, int]) -> Intent | None:
        button = self.button_at(pos)
        if button:
            return button.intent
        index = self.list.index_at(pos)
        if index is not None and index != self.selected:
            # Choosing which voucher to show is a view matter: no intent, just a redraw.
            self.selected = index
            self.needs_redraw = True
        return None

    def scroll(self, dy: float) -> pygame.Rect | None:
        return self.list.rect if self.list.scroll(dy) else None
