"""Member home: masked name, tier badge, points and stored value in big type, progress to the
next tier, upcoming point expiries, tier benefits and, on the day, a birthday greeting."""

from __future__ import annotations

import pygame

from kiosk.model import MemberView, local
from kiosk.ui_state import Done, MemberHome, OpenRewards, OpenVouchers
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import inset, split, split_rows
from screens.text import date_text, discount_rate, money, points
from screens.widgets import draw_panel, draw_progress, draw_text, draw_tier_badge, footer_buttons, tier_badge_width

MAX_EXPIRY_LINES = 2


def draw_member_header(screen: Screen, surface: pygame.Surface, rect: pygame.Rect, member: MemberView) -> None:
    """ "您好，张*明" and the tier badge: used as the header of every member screen."""
    ctx = screen.ctx
    lay = ctx.layout
    badge_h = max(round(lay.min_target * 0.8), round(lay.unit * 7.8))
    # Measure the badge first: it must always show; the greeting gives way to the bare name.
    badge_w = tier_badge_width(ctx, member.tier, badge_h)
    room = rect.w - badge_w - lay.gap * 2
    size = lay.type_size("title")
    greeting = ctx.t("hello", name=member.masked_name)
    if ctx.fonts.get(size, True).size(greeting)[0] > room:
        greeting = member.masked_name
    where = draw_text(surface, ctx, greeting, pygame.Rect(rect.x, rect.y, room, rect.h), style="title", bold=True)
    draw_tier_badge(surface, ctx, member.tier, (where.right + lay.gap * 2, rect.centery - badge_h // 2), badge_h)


def stat_tile(
    ctx: RenderContext,
    surface: pygame.Surface,
    rect: pygame.Rect,
    label: str,
    value: str,
    style: str,
    color: theme.Color = theme.TEXT,
) -> None:
    lay = ctx.layout
    draw_panel(surface, ctx, rect)
    inner = inset(rect, lay.gap * 2, lay.gap)
    label_h = round(lay.type_size("label") * 1.4)
    draw_text(
        surface, ctx, label, pygame.Rect(inner.x, inner.y, inner.w, label_h), style="label", color=theme.TEXT_SECONDARY
    )
    value_rect = pygame.Rect(inner.x, inner.y + label_h, inner.w, inner.h - label_h)
    size = min(lay.type_size(style), round(value_rect.h * 0.8))
    draw_text(surface, ctx, value, value_rect, size=size, color=color, bold=True, min_scale=0.25)


def progress_text(ctx: RenderContext, member: MemberView) -> str:
    progress = member.progress
    if progress.next_tier is None:
        return ctx.t("progress_top")
    tier = local(progress.next_tier.name, ctx.locale)
    if progress.measure == "spend_fen":
        return ctx.t("progress_spend", amount=money(progress.still_needed), tier=tier)
    return ctx.t("progress_growth", amount=points(progress.still_needed), tier=tier)


def benefit_lines(ctx: RenderContext, member: MemberView) -> list[str]:
    tier = member.tier
    perks = []
    if tier.discount_pct < 100:
        perks.append(ctx.t("discount", rate=discount_rate(tier.discount_pct, ctx.locale)))
    if tier.points_multiplier not in ("", "1", "1.0"):
        perks.append(ctx.t("multiplier", mult=tier.points_multiplier))
    lines = ["  ·  ".join(perks)] if perks else []
    extra = local(tier.benefits, ctx.locale)
    if extra:
        lines.append(extra)
    return lines


class MemberScreen(Screen):
    def __init__(self, ctx: RenderContext, state: MemberHome) -> None:
        super().__init__(ctx, state.online)
        self.member = state.member
        self.buttons += footer_buttons(
            ctx,
            [
                (ctx.t("rewards"), OpenRewards(), "primary", 1.4),
                (ctx.t("my_vouchers"), OpenVouchers(), "secondary", 1.0),
                (ctx.t("done"), Done(), "secondary", 1.0),
            ],
        )

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx, lay, member = self.ctx, self.ctx.layout, self.member
        body = lay.content
        if lay.landscape:
            left, right = split(body, [1.0, 1.08], lay.gap * 2, horizontal=True)
        else:
            left, right = split(body, [1.0, 1.45], lay.gap * 2, horizontal=False)
        if member.birthday_today:
            banner_h = round(lay.type_size("body") * 1.9)
            banner = pygame.Rect(left.x, left.y, left.w, banner_h)
            draw_panel(surface, ctx, banner, theme.CELEBRATION)
            draw_text(
                surface,
                ctx,
                ctx.t("birthday"),
                inset(banner, lay.gap * 2, 0),
                style="body",
                color=theme.TEXT_ON_ACCENT,
                bold=True,
                align="center",
            )
            left = pygame.Rect(left.x, banner.bottom + lay.gap, left.w, left.h - banner_h - lay.gap)
        if lay.landscape:
            pts_rect, bal_rect = split_rows(left, [1.25, 1.0], lay.gap)
        else:
            pts_rect, bal_rect = split(left, [1.1, 1.0], lay.gap, horizontal=True)
        stat_tile(ctx, surface, pts_rect, ctx.t("points"), points(member.points), "huge", theme.ACCENT)
        stat_tile(ctx, surface, bal_rect, ctx.t("balance"), money(member.balance_fen), "big")
        self.draw_details(surface, right)

    def draw_details(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        ctx, lay, member = self.ctx, self.ctx.layout, self.member
        draw_panel(surface, ctx, rect)
        inner = inset(rect, lay.gap * 2, lay.gap * 2)
        line = round(lay.type_size("body") * 1.35)
        small = round(lay.type_size("small") * 1.4)
        y = inner.y
        # Progress to the next tier: the amount still needed is the headline, the bar the picture.
        draw_text(
            surface, ctx, progress_text(ctx, member), pygame.Rect(inner.x, y, inner.w, line), style="body", bold=True
        )
        y += line + lay.gap // 2
        bar_h = max(8, round(lay.unit * 2.4))
        draw_progress(
            surface,
            pygame.Rect(inner.x, y, inner.w, bar_h),
            member.progress.fraction,
            theme.tier_style(member.progress.next_tier.code if member.progress.next_tier else member.tier.code).fill,
        )
        y += bar_h + lay.gap * 2
        # Upcoming expiries, soonest first.
        draw_text(
            surface,
            ctx,
            ctx.t("expiries"),
            pygame.Rect(inner.x, y, inner.w, small),
            style="small",
            color=theme.TEXT_SECONDARY,
        )
        y += small
        expiries = sorted(member.expiries, key=lambda e: e.expires_at)[:MAX_EXPIRY_LINES]
        if not expiries:
            draw_text(surface, ctx, ctx.t("no_expiries"), pygame.Rect(inner.x, y, inner.w, line), style="body")
            y += line
        for expiry in expiries:
            text = ctx.t(
                "expiry_line", points=points(expiry.points), date=date_text(expiry.expires_at, ctx.tz, ctx.locale)
            )
            draw_text(surface, ctx, text, pygame.Rect(inner.x, y, inner.w, line), style="body", color=theme.WARNING)
            y += line
        y += lay.gap
        draw_text(
            surface,
            ctx,
            ctx.t("benefits"),
            pygame.Rect(inner.x, y, inner.w, small),
            style="small",
            color=theme.TEXT_SECONDARY,
        )
        y += small
        for text in benefit_lines(ctx, member):
            if y + line > inner.bottom:
                break
            draw_text(surface, ctx, text, pygame.Rect(inner.x, y, inner.w, line), style="body")
            y += line
