"""The rewards catalog (affordable first, the rest greyed with the points missing) and the
confirm screen (points before and after)."""

from __future__ import annotations

import pygame

from kiosk.model import RewardOption, local
from kiosk.ui_state import Back, ChooseReward, Confirm, ConfirmRedeem, Done, Intent, Rewards
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import inset, split
from screens.member import draw_member_header
from screens.scrolllist import ScrollList
from screens.text import STRINGS, money, money_short, points
from screens.widgets import blit_aligned, draw_panel, draw_paragraph, draw_text, footer_buttons, render_text


def can_redeem(option: RewardOption) -> bool:
    return option.affordable and option.available


def ordered(options: tuple[RewardOption, ...]) -> list[RewardOption]:
    """What the member can take now first, keeping the catalog's own order within each group."""
    return sorted(options, key=lambda o: (not can_redeem(o), not o.available))


def unavailable_text(ctx: RenderContext, option: RewardOption) -> str:
    if not option.available:
        key = f"unavailable_{option.unavailable_reason}"
        return ctx.t(key) if key in STRINGS else ctx.t("unavailable")
    return ctx.t("points_missing", points=points(option.points_missing))


class RewardsScreen(Screen):
    title_key = "rewards_title"

    def __init__(self, ctx: RenderContext, state: Rewards) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        self.options = ordered(state.options)
        lay = ctx.layout
        body = lay.content
        self.summary_rect = pygame.Rect(body.x, body.y, body.w, round(lay.type_size("body") * 1.6))
        list_rect = pygame.Rect(
            body.x, self.summary_rect.bottom + lay.gap, body.w, body.bottom - self.summary_rect.bottom - lay.gap
        )
        row_h = max(round(lay.min_target * 1.55), round(lay.unit * 17))
        self.list = ScrollList(list_rect, row_h, len(self.options), lay.gap)
        self.buttons += footer_buttons(
            ctx, [(ctx.t("back"), Back(), "secondary", 1.0), (ctx.t("done"), Done(), "secondary", 1.0)]
        )

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx = self.ctx
        title = render_text(ctx, ctx.t("rewards_title"), ctx.layout.type_size("body"), theme.TEXT, bold=True)
        where = blit_aligned(surface, title, self.summary_rect, "left", "center")
        rest = pygame.Rect(where.right, self.summary_rect.y, self.summary_rect.right - where.right, self.summary_rect.h)
        draw_text(
            surface,
            ctx,
            ctx.t("points_available", points=points(self.state.member.points)),
            rest,
            style="body",
            color=theme.ACCENT,
            bold=True,
            align="right",
        )
        if not self.options:
            draw_paragraph(surface, ctx, ctx.t("no_rewards"), self.list.rect, color=theme.TEXT_SECONDARY)
            return
        self.list.draw(surface, self.draw_row)

    def draw_row(self, surface: pygame.Surface, index: int, rect: pygame.Rect) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        option = self.options[index]
        live = can_redeem(option)
        draw_panel(surface, ctx, rect, theme.PANEL_RAISED if live else theme.PANEL)
        inner = inset(rect, lay.gap * 2, lay.gap)
        text_part, price_part = split(inner, [1.9 if lay.landscape else 1.5, 1.0], lay.gap * 2, horizontal=True)
        half = text_part.h // 2
        name_color = theme.TEXT if live else theme.TEXT_DISABLED
        draw_text(
            surface,
            ctx,
            local(option.name, ctx.locale),
            pygame.Rect(text_part.x, text_part.y, text_part.w, half + lay.gap // 2),
            style="body",
            bold=True,
            color=name_color,
            min_scale=0.8,
        )
        detail = (
            f"{ctx.t('worth', amount=money(option.value_fen))}  ·  {ctx.t('valid_days', days=option.validity_days)}"
        )
        draw_text(
            surface,
            ctx,
            detail,
            pygame.Rect(text_part.x, text_part.y + half, text_part.w, half),
            style="small",
            color=theme.TEXT_SECONDARY if live else theme.TEXT_DISABLED,
        )
        cost = ctx.t("cost_points", points=points(option.cost_points))
        draw_text(
            surface,
            ctx,
            cost,
            pygame.Rect(price_part.x, price_part.y, price_part.w, half + lay.gap // 2),
            style="body",
            bold=True,
            align="right",
            color=theme.ACCENT if live else theme.TEXT_DISABLED,
        )
        below = pygame.Rect(price_part.x, price_part.y + half, price_part.w, half)
        if live:
            label = render_text(ctx, ctx.t("redeem") + " ›", lay.type_size("small"), theme.TEXT_ON_ACCENT, bold=True)
            pill = pygame.Rect(0, 0, label.get_width() + lay.gap * 3, min(below.h, label.get_height() + lay.gap))
            pill.midright = below.midright
            pygame.draw.rect(surface, theme.ACCENT, pill, border_radius=pill.h // 2)
            blit_aligned(surface, label, pill, "center", "center")
        else:
            draw_text(
                surface,
                ctx,
                unavailable_text(ctx, option),
                below,
                style="small",
                color=theme.OFFLINE if option.available else theme.TEXT_DISABLED,
                align="right",
            )

    def tap(self, pos: tuple[int, int]) -> Intent | None:
        button = self.button_at(pos)
        if button:
            return button.intent
        index = self.list.index_at(pos)
        if index is not None and can_redeem(self.options[index]):
            return ChooseReward(self.options[index].reward_id)
        return None

    def scroll(self, dy: float) -> pygame.Rect | None:
        return self.list.rect if self.list.scroll(dy) else None


class ConfirmScreen(Screen):
    title_key = "confirm_title"

    def __init__(self, ctx: RenderContext, state: Confirm) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        confirm_label = ctx.t("working") if state.busy else ctx.t("confirm")
        self.buttons += footer_buttons(
            ctx,
            [
                (ctx.t("cancel"), Back(), "secondary", 1.0),
                (confirm_label, ConfirmRedeem(state.intent_id), "primary", 1.6),
            ],
        )
        if state.busy:
            # While the card is being written nothing may be started or abandoned by touch.
            for button in self.buttons[-2:]:
                button.enabled = False

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx, lay, state = self.ctx, self.ctx.layout, self.state
        panel = lay.content
        draw_panel(surface, ctx, panel)
        inner = inset(panel, lay.gap * 3, lay.gap * 2)
        title_h = round(lay.type_size("title") * 1.3)
        name = local(state.option.name, ctx.locale)
        draw_text(
            surface,
            ctx,
            name,
            pygame.Rect(inner.x, inner.y, inner.w, title_h),
            style="title",
            bold=True,
            align="center",
        )
        y = inner.y + title_h
        sub_h = round(lay.type_size("body") * 1.4)
        sub = (
            f"{ctx.t('worth', amount=money_short(state.option.value_fen))}  ·  "
            f"{ctx.t('cost', points=points(state.option.cost_points))}"
        )
        draw_text(
            surface,
            ctx,
            sub,
            pygame.Rect(inner.x, y, inner.w, sub_h),
            style="body",
            color=theme.TEXT_SECONDARY,
            align="center",
        )
        y += sub_h + lay.gap
        foot_h = round(lay.type_size("body") * 1.5)
        numbers = pygame.Rect(inner.x, y, inner.w, inner.bottom - y - foot_h)
        self.draw_before_after(surface, numbers)
        note = None
        if state.busy:
            note = (ctx.t("keep_card"), theme.ACCENT)
        elif not state.online:
            note = (ctx.t("offline_redeem"), theme.OFFLINE)
        if note:
            draw_text(
                surface,
                ctx,
                note[0],
                pygame.Rect(inner.x, inner.bottom - foot_h, inner.w, foot_h),
                style="body",
                color=note[1],
                align="center",
                bold=True,
            )

    def draw_before_after(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        """The two numbers side by side (landscape) or one above the other (portrait)."""
        ctx, lay = self.ctx, self.ctx.layout
        label_h = round(lay.type_size("label") * 1.4)
        arrow_len = round(lay.unit * 12)
        horizontal = lay.landscape
        first, _, second = split(rect, [1.0, 0.35, 1.0], 0, horizontal=horizontal)
        arrow = rect.clip(
            pygame.Rect(first.right, first.y + label_h, second.x - first.right, first.h - label_h)
            if horizontal
            else pygame.Rect(rect.x, first.bottom, rect.w, second.y - first.bottom)
        )
        size = min(lay.type_size("huge"), round((first.h - label_h) * 0.75))
        for part, label, value, color in (
            (first, ctx.t("points_now"), self.state.member.points, theme.TEXT),
            (second, ctx.t("points_after"), self.state.points_after, theme.ACCENT),
        ):
            draw_text(
                surface,
                ctx,
                label,
                pygame.Rect(part.x, part.y, part.w, label_h),
                style="label",
                color=theme.TEXT_SECONDARY,
                align="center",
            )
            draw_text(
                surface,
                ctx,
                points(value),
                pygame.Rect(part.x, part.y + label_h, part.w, part.h - label_h),
                size=size,
                bold=True,
                color=color,
                align="center",
                min_scale=0.3,
            )
        self.draw_arrow(surface, arrow, max(6, min(arrow_len, arrow.w, arrow.h) // 4), horizontal)

    @staticmethod
    def draw_arrow(surface: pygame.Surface, rect: pygame.Rect, a: int, horizontal: bool) -> None:
        cx, cy = rect.center
        width = max(3, a // 3)
        if horizontal:
            pygame.draw.line(surface, theme.TEXT_SECONDARY, (cx - a, cy), (cx + a // 2, cy), width)
            tip = [(cx + a, cy), (cx + a // 3, cy - a * 2 // 3), (cx + a // 3, cy + a * 2 // 3)]
        else:
            pygame.draw.line(surface, theme.TEXT_SECONDARY, (cx, cy - a), (cx, cy + a // 2), width)
            tip = [(cx, cy + a), (cx - a * 2 // 3, cy + a // 3), (cx + a * 2 // 3, cy + a // 3)]
        pygame.draw.polygon(surface, theme.TEXT_SECONDARY, tip)
