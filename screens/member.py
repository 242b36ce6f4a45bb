"""Member home: masked name, tier badge, points and stored value in big type, progress to the
next tier, upcoming point expiries, tier benefits, the daily check-in (每日签到: the streak, and a
"Check in" button until the member has checked in today) and, on the day, a birthday greeting.

Nothing HQ sends about the member is dropped for want of room. The screen plans its text before it
draws any: each field is shown whole (shrunk a little at most), or visibly cut with "…", or left
out; whatever was cut or left out is counted on a "3 more · Show all" button that opens a
scrollable sheet with every field. `MemberScreen.shown` and `MemberScreen.hidden` say which field
went where, so tests check the plan that was drawn rather than guess from pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pygame

from kiosk.model import MemberView, local
from kiosk.ui_state import (
    CheckIn,
    ClaimBirthdayGift,
    Done,
    Intent,
    MemberHome,
    OpenHistory,
    OpenRewards,
    OpenVouchers,
    OpenWheel,
)
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.layout import inset, split, split_columns, split_rows
from screens.scrolllist import ScrollList
from screens.text import date_text, datetime_text, discount_rate, money, points
from screens.widgets import (
    Align,
    Button,
    draw_panel,
    draw_progress,
    draw_tier_badge,
    footer_buttons,
    render_text,
    tier_badge_width,
    wrap_lines,
)

# The member fields a screen can show, as `Line.field` names them ("" is a label, not data).
NAME = "name"
TIER = "tier"
BIRTHDAY = "birthday"
POINTS = "points"
BALANCE = "balance"
PROGRESS = "progress"
PERKS = "perks"  # discount and points multiplier of the tier
BENEFITS = "benefits"  # the tier's benefits text from HQ
AS_OF = "as_of"
CHECKIN = "checkin"  # the check-in streak / "checked in today"

#: Expiry lines kept on the member screen before the benefits get the room: the soonest matter most.
MIN_EXPIRY_LINES = 2
#: Keys of the buttons that open and close the sheet with every field.
DETAILS_KEY = "details"
DETAILS_CLOSE_KEY = "details_close"
#: Key of the check-in button.
CHECKIN_KEY = "checkin"
MEMBER_DAY = "member_day"  # 会员日: more points on purchases today
PIN_LOCK = "pin_lock"  # redemptions locked after wrong PINs
GIFT_KEY = "claimbirthdaygift"
WHEEL = "wheel"  # the prize wheel row: free spins left, or the price of a spin
WHEEL_KEY = "wheel"


def expiry_field(index: int) -> str:
    """The field name of the `index`-th upcoming expiry, soonest first."""
    return f"expiry:{index}"


@dataclass(frozen=True)
class Line:
    """One line of text as planned and drawn: which member field it shows, and where."""

    field: str
    text: str
    rect: pygame.Rect  # the text's own box, not the space it was given
    size: int
    color: theme.Color = theme.TEXT
    bold: bool = False
    complete: bool = True  # False: cut short with "…"


# --- fitting text ---------------------------------------------------------------------------


def fitted_size(ctx: RenderContext, text: str, size: int, width: int, bold: bool, min_scale: float) -> int | None:
    """The largest pixel size from `size` down to `size * min_scale` at which `text` fits `width`."""
    floor = max(8, math.ceil(size * min_scale))
    current = size
    while current >= floor:
        w = ctx.fonts.get(current, bold).size(text)[0]
        if w <= width:
            return current
        # Widths grow about linearly with size: jump close to the answer, then step.
        guess = min(current - 1, int(current * width / w))
        current = floor if current > floor > guess else guess
    return None


def cut_to_fit(ctx: RenderContext, text: str, size: int, width: int, bold: bool) -> str:
    """`text` shortened with "…" so that it fits `width` at `size`."""
    font = ctx.fonts.get(size, bold)
    for cut in range(len(text) - 1, 0, -1):
        candidate = text[:cut].rstrip() + "…"
        if font.size(candidate)[0] <= width:
            return candidate
    return "…"


def plan_text(
    ctx: RenderContext,
    field: str,
    text: str,
    rect: pygame.Rect,
    *,
    size: int,
    color: theme.Color = theme.TEXT,
    bold: bool = False,
    align: Align = "left",
    min_scale: float = 0.85,
) -> Line:
    """Place one line in `rect`: shrunk down to `min_scale` if need be, else cut with "…"."""
    fitted = fitted_size(ctx, text, size, rect.w, bold, min_scale)
    complete = fitted is not None
    if fitted is None:
        fitted = max(8, math.ceil(size * min_scale))
        text = cut_to_fit(ctx, text, fitted, rect.w, bold)
    w, h = ctx.fonts.get(fitted, bold).size(text)
    x = {"left": rect.x, "center": rect.centerx - w // 2, "right": rect.right - w}[align]
    return Line(field, text, pygame.Rect(x, rect.centery - h // 2, w, h), fitted, color, bold, complete)


def wrap_block(
    ctx: RenderContext,
    field: str,
    text: str,
    rect: pygame.Rect,
    line_h: int,
    *,
    size: int,
    color: theme.Color = theme.TEXT,
    bold: bool = False,
    max_lines: int | None = None,
    min_scale: float = 0.85,
) -> list[Line]:
    """`text` on as few lines as it needs (one, a little shrunk, if that does), from `rect`'s top.

    With `max_lines` the last line shown ends in "…" when the text needs more.
    """
    if fitted_size(ctx, text, size, rect.w, bold, min_scale) is not None:
        parts = [text]
    else:
        parts = wrap_lines(ctx, text, size, rect.w, bold) or [text]
    if max_lines is not None and len(parts) > max_lines:
        rest = "".join(parts[max_lines - 1 :]) if _joins_tight(text) else " ".join(parts[max_lines - 1 :])
        parts = parts[: max_lines - 1] + [rest]
    out = []
    for i, part in enumerate(parts):
        row = pygame.Rect(rect.x, rect.y + i * line_h, rect.w, line_h)
        out.append(plan_text(ctx, field, part, row, size=size, color=color, bold=bold, min_scale=min_scale))
    return out


def _joins_tight(text: str) -> bool:
    """Chinese text was wrapped between characters, so its lines join without a space."""
    return not any(ch == " " for ch in text.strip())


def draw_line(surface: pygame.Surface, ctx: RenderContext, line: Line) -> None:
    surface.blit(render_text(ctx, line.text, line.size, line.color, line.bold), line.rect.topleft)


# --- header -----------------------------------------------------------------------------------


def plan_member_header(ctx: RenderContext, rect: pygame.Rect, member: MemberView) -> tuple[Line, pygame.Rect]:
    """ "您好，张*明" and where the tier badge goes: the greeting gives way to the bare name, and
    the name to "…", but the badge always shows whole (a long tier name makes it lower)."""
    lay = ctx.layout
    badge_h = max(round(lay.min_target * 0.8), round(lay.unit * 7.8))
    floor_h = round(badge_h * 0.7)
    while tier_badge_width(ctx, member.tier, badge_h) > rect.w * 0.6 and badge_h > floor_h:
        badge_h -= 1
    badge_w = tier_badge_width(ctx, member.tier, badge_h)
    room = pygame.Rect(rect.x, rect.y, max(0, rect.w - badge_w - lay.gap * 2), rect.h)
    size = lay.type_size("title")
    line = plan_text(ctx, NAME, ctx.t("hello", name=member.masked_name), room, size=size, bold=True, min_scale=1.0)
    if not line.complete:
        line = plan_text(ctx, NAME, member.masked_name, room, size=size, bold=True, min_scale=0.6)
    badge = pygame.Rect(line.rect.right + lay.gap * 2, rect.centery - badge_h // 2, badge_w, badge_h)
    return line, badge


def draw_member_header(screen: Screen, surface: pygame.Surface, rect: pygame.Rect, member: MemberView) -> list[Line]:
    """The header of every member screen; returns the name and tier as drawn."""
    ctx = screen.ctx
    name, badge = plan_member_header(ctx, rect, member)
    draw_line(surface, ctx, name)
    draw_tier_badge(surface, ctx, member.tier, badge.topleft, badge.h)
    return [name, Line(TIER, local(member.tier.name, ctx.locale), badge, badge.h)]


# --- what the fields say ------------------------------------------------------------------------


def progress_text(ctx: RenderContext, member: MemberView) -> str:
    progress = member.progress
    if progress.next_tier is None:
        return ctx.t("progress_top")
    tier = local(progress.next_tier.name, ctx.locale)
    if progress.measure == "spend_fen":
        return ctx.t("progress_spend", amount=money(progress.still_needed), tier=tier)
    return ctx.t("progress_growth", amount=points(progress.still_needed), tier=tier)


def perks_text(ctx: RenderContext, member: MemberView) -> str:
    """The tier's discount and points multiplier on one line ("" when it has neither)."""
    tier = member.tier
    perks = []
    if tier.discount_pct < 100:
        perks.append(ctx.t("discount", rate=discount_rate(tier.discount_pct, ctx.locale)))
    if tier.points_multiplier not in ("", "1", "1.0"):
        perks.append(ctx.t("multiplier", mult=tier.points_multiplier))
    return " · ".join(perks)


def expiry_texts(ctx: RenderContext, member: MemberView) -> list[str]:
    """Every upcoming expiry, soonest first."""
    return [
        ctx.t("expiry_line", points=points(e.points), date=date_text(e.expires_at, ctx.tz, ctx.locale))
        for e in sorted(member.expiries, key=lambda e: e.expires_at)
    ]


def checkin_text(ctx: RenderContext, member: MemberView) -> str:
    """ "今日已签到 · 已连续签到 3 天", "已连续签到 2 天", or the invitation; "" without check-in."""
    status = member.checkin
    if status is None:
        return ""
    streak = ctx.t("checkin_streak", days=status.streak) if status.streak > 0 else ""
    if status.checked_in_today:
        return " · ".join(part for part in (ctx.t("checkin_done"), streak) if part)
    return streak or ctx.t("checkin_invite")


def gift_open(member: MemberView) -> bool:
    """A birthday gift waits to be claimed (the banner is then its button)."""
    return member.birthday_gift is not None and not member.birthday_gift.claimed


def banner_shown(member: MemberView) -> bool:
    return member.birthday_today or gift_open(member)


def member_day_text(ctx: RenderContext, member: MemberView) -> str:
    """ "会员日 · 今日消费积分 2 倍" / "Member day: 2x points on purchases today"."""
    day = member.member_day
    assert day is not None
    return ctx.t("member_day_line", name=local(day.name, ctx.locale), times=day.points_multiplier)


def wheel_text(ctx: RenderContext, member: MemberView) -> str:
    """ "Lucky wheel · 1 free today" / "Lucky wheel · 5 points a spin"; empty without a wheel."""
    status = member.wheel
    if status is None:
        return ""
    if status.free_left > 0:
        return ctx.t("wheel_row_free", count=status.free_left)
    return ctx.t("wheel_row_paid", points=points(status.cost_points))


def wheel_compact_label(ctx: RenderContext, member: MemberView) -> str:
    """The wheel's button where it shares the check-in row: "Free spin" / "Wheel 5 pts"."""
    status = member.wheel
    assert status is not None
    if status.free_left > 0:
        return ctx.t("wheel_button_free")
    return ctx.t("wheel_button_paid", points=points(status.cost_points))


#: (label, intent, key) of a button in an action row.
RowButton = tuple[str, Intent, str]


def benefit_items(ctx: RenderContext, member: MemberView) -> list[tuple[str, str]]:
    """(field, text) for the tier's perks and its benefits text, those it has."""
    items = [(PERKS, perks_text(ctx, member)), (BENEFITS, local(member.tier.benefits, ctx.locale))]
    return [(field, text) for field, text in items if text]


# --- the screen -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    field: str
    text: str
    style: str
    color: theme.Color = theme.TEXT
    bold: bool = False


class MemberScreen(Screen):
    def __init__(self, ctx: RenderContext, state: MemberHome) -> None:
        super().__init__(ctx, state.online)
        self.member = state.member
        lay = ctx.layout
        body = lay.content
        if lay.landscape:
            self.buttons += footer_buttons(
                ctx,
                [
                    (ctx.t("rewards"), OpenRewards(), "primary", 1.25),
                    (ctx.t("points_history"), OpenHistory(), "secondary", 1.35),
                    (ctx.t("my_vouchers"), OpenVouchers(), "secondary", 1.2),
                    (ctx.t("done"), Done(), "secondary", 0.8),
                ],
            )
        else:
            # Four buttons across a portrait panel would cut "Points history" short: the two
            # that look at the member's records get a row of their own above the footer.
            self.buttons += footer_buttons(
                ctx, [(ctx.t("rewards"), OpenRewards(), "primary", 1.4), (ctx.t("done"), Done(), "secondary", 1.0)]
            )
            row_h = max(lay.min_target, round(lay.button_height * 0.8))
            row = pygame.Rect(body.x, body.bottom - row_h, body.w, row_h)
            body = pygame.Rect(body.x, body.y, body.w, body.h - row_h - lay.gap * 2)
            specs: list[tuple[str, Intent]] = [
                (ctx.t("points_history"), OpenHistory()),
                (ctx.t("my_vouchers"), OpenVouchers()),
            ]
            for (label, intent), rect in zip(specs, split_columns(row, [1.0, 1.0], lay.gap * 2)):
                self.buttons.append(Button(rect=rect, label=label, intent=intent, key=type(intent).__name__.lower()))
        self.body = body
        self.checkin_button: Button | None = None
        self.wheel_button: Button | None = None
        self.gift_button: Button | None = None
        self.header_lines: list[Line] = []
        self.lines: list[Line] = []
        self.bars: list[tuple[pygame.Rect, float, theme.Color]] = []
        self.panels: list[tuple[pygame.Rect, theme.Color]] = []
        #: Fields cut short or left out, in the order the sheet shows them.
        self.hidden: list[str] = []
        name, _ = plan_member_header(ctx, self.header_left_rect(), self.member)
        if not name.complete:
            self.hidden.append(NAME)
        self._plan_body(body)
        self.details_button: Button | None = None
        if self.hidden:
            self.details_button = Button(
                rect=self._more_rect,
                label=ctx.t("more_details", count=len(self.hidden)),
                intent=None,
                kind="secondary",
                key=DETAILS_KEY,
            )
            self.buttons.append(self.details_button)
        # The sheet with every field; opened and closed on this screen (a view matter, no intent).
        self.sheet_open = False
        self.sheet_rows = self._sheet_rows()
        title_h = max(lay.min_target, round(lay.type_size("title") * 1.5))
        sheet_inner = inset(body, lay.gap * 2, lay.gap)
        self.sheet_title = pygame.Rect(sheet_inner.x, sheet_inner.y, sheet_inner.w, title_h)
        close_w = max(lay.min_target * 2, round(lay.unit * 24))
        self.close_button = Button(
            rect=pygame.Rect(sheet_inner.right - close_w, sheet_inner.y, close_w, title_h),
            label=ctx.t("details_close"),
            intent=None,
            kind="secondary",
            key=DETAILS_CLOSE_KEY,
        )
        list_rect = pygame.Rect(
            sheet_inner.x,
            self.sheet_title.bottom + lay.gap,
            sheet_inner.w,
            sheet_inner.bottom - self.sheet_title.bottom - lay.gap,
        )
        sheet_row_h = round(lay.type_size("body") * 1.3)
        list_rect.h -= list_rect.h % sheet_row_h  # whole rows only: a half row at rest reads as a cut
        self.sheet = ScrollList(list_rect, sheet_row_h, len(self.sheet_rows), 0)
        self.sheet_lines: list[Line] = []

    # --- what is on screen ------------------------------------------------------------------
    @property
    def shown(self) -> list[Line]:
        """Every line of member data drawn last time, with the header's name and tier."""
        return self.header_lines + (self.sheet_lines if self.sheet_open else self.lines)

    # --- planning -----------------------------------------------------------------------------
    def _plan_body(self, body: pygame.Rect) -> None:
        ctx, lay, member = self.ctx, self.ctx.layout, self.member
        if lay.landscape:
            left, right = split(body, [1.0, 1.25], lay.gap * 2, horizontal=True)
        else:
            # The points column takes what its rows and tiles need; the details get the rest.
            row_h = max(lay.min_target, round(lay.button_height * 0.8)) + lay.gap
            banner_h = max(lay.min_target, round(lay.type_size("body") * 1.9)) + lay.gap if banner_shown(member) else 0
            rows = 1 if member.checkin is not None or member.wheel is not None else 0  # one row: see below
            tiles_h = round(lay.type_size("huge") * (1.2 if banner_shown(member) else 1.5))
            top_h = min(banner_h + rows * row_h + tiles_h, round(body.h * 0.55))
            left = pygame.Rect(body.x, body.y, body.w, top_h)
            right = pygame.Rect(body.x, left.bottom + lay.gap * 2, body.w, body.bottom - left.bottom - lay.gap * 2)
        if gift_open(member):
            # The birthday gift waiting to be claimed: the banner is its button.
            assert member.birthday_gift is not None
            banner = pygame.Rect(left.x, left.y, left.w, max(lay.min_target, round(lay.type_size("body") * 1.9)))
            label = ctx.t("birthday_gift_claim", name=local(member.birthday_gift.name, ctx.locale))
            self.gift_button = Button(
                rect=banner, label=label, intent=ClaimBirthdayGift(), kind="primary", key=GIFT_KEY
            )
            self.buttons.append(self.gift_button)
            left = pygame.Rect(left.x, banner.bottom + lay.gap, left.w, left.h - banner.h - lay.gap)
        elif member.birthday_today:
            banner = pygame.Rect(left.x, left.y, left.w, round(lay.type_size("body") * 1.9))
            self.panels.append((banner, theme.CELEBRATION))
            self._add(
                plan_text(
                    ctx,
                    BIRTHDAY,
                    ctx.t("birthday"),
                    inset(banner, lay.gap * 2, 0),
                    size=lay.type_size("body"),
                    color=theme.TEXT_ON_ACCENT,
                    bold=True,
                    align="center",
                    min_scale=0.6,
                )
            )
            left = pygame.Rect(left.x, banner.bottom + lay.gap, left.w, left.h - banner.h - lay.gap)
        wheel_button = (ctx.t("wheel_open"), OpenWheel(), WHEEL_KEY)
        if member.wheel is not None and member.checkin is not None and not lay.landscape:
            # Portrait has no height to spare for two rows: the wheel's button joins the check-in
            # row and says itself what a spin costs ("Free spin" / "Wheel 5 pts").
            left = self._plan_checkin(left, (wheel_compact_label(ctx, member), OpenWheel(), WHEEL_KEY))
        else:
            if member.wheel is not None:
                left = self._plan_row(left, WHEEL, wheel_text(ctx, member), [wheel_button])
            if member.checkin is not None:
                left = self._plan_checkin(left)
        if lay.landscape:
            pts_rect, bal_rect = split_rows(left, [1.25, 1.0], lay.gap)
        else:
            pts_rect, bal_rect = split(left, [1.1, 1.0], lay.gap, horizontal=True)
        self._plan_tile(pts_rect, ctx.t("points"), POINTS, points(member.points), "huge", theme.ACCENT)
        self._plan_tile(bal_rect, ctx.t("balance"), BALANCE, money(member.balance_fen), "big", theme.TEXT)
        self._plan_details(right)

    def _plan_checkin(self, rect: pygame.Rect, extra: RowButton | None = None) -> pygame.Rect:
        """The check-in row: the streak, and a button until the member has checked in today."""
        ctx, status = self.ctx, self.member.checkin
        assert status is not None
        buttons: list[RowButton] = []
        if not status.checked_in_today:
            buttons.append((ctx.t("checkin_button", points=points(status.next_points)), CheckIn(), CHECKIN_KEY))
        if extra is not None:
            buttons.append(extra)
        done = status.checked_in_today
        return self._plan_row(rect, CHECKIN, checkin_text(ctx, self.member), buttons, done=done)

    def _plan_row(
        self, rect: pygame.Rect, field: str, text: str, buttons: list[RowButton], *, done: bool = False
    ) -> pygame.Rect:
        """An action row at the bottom of `rect` (the points column); returns what is left above.

        The buttons sit at the right of the row they explain, next to its text, as tall as a
        finger needs; `done` draws the text as an achievement (checked in today)."""
        ctx, lay = self.ctx, self.ctx.layout
        row_h = max(lay.min_target, round(lay.button_height * 0.8))
        row = pygame.Rect(rect.x, rect.bottom - row_h, rect.w, row_h)
        self.panels.append((row, theme.PANEL))
        text_rect = inset(row, lay.gap * 2, 0)
        right = row.right
        share = 0.55 if len(buttons) < 2 else 0.33
        for label, intent, key in reversed(buttons):
            label_w = ctx.fonts.get(min(lay.type_size("button"), int(row_h * 0.5)), True).size(label)[0]
            padding = lay.gap * (4 if len(buttons) < 2 else 2)
            width = min(max(lay.min_target * 2, label_w + padding), round(row.w * share))
            button = Button(
                rect=pygame.Rect(right - width, row.y, width, row.h),
                label=label,
                intent=intent,
                kind="primary",
                key=key,
            )
            if key == CHECKIN_KEY:
                self.checkin_button = button
            else:
                self.wheel_button = button
            self.buttons.append(button)
            right = button.rect.x - lay.gap  # the next button (if any) keeps a gap from this one
        if buttons:
            right += lay.gap
        text_rect.w = right - lay.gap * 2 - text_rect.x
        self._add(
            plan_text(
                ctx,
                field,
                text,
                text_rect,
                size=lay.type_size("body"),
                color=theme.SUCCESS if done else theme.TEXT,
                bold=done,
                min_scale=0.7,
            )
        )
        return pygame.Rect(rect.x, rect.y, rect.w, rect.h - row_h - lay.gap)

    def _add(self, line: Line) -> None:
        self.lines.append(line)
        if not line.complete and line.field and line.field not in self.hidden:
            self.hidden.append(line.field)

    def _plan_tile(self, rect: pygame.Rect, label: str, field: str, value: str, style: str, color: theme.Color) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        self.panels.append((rect, theme.PANEL))
        inner = inset(rect, lay.gap * 2, lay.gap)
        label_h = round(lay.type_size("label") * 1.4)
        label_rect = pygame.Rect(inner.x, inner.y, inner.w, label_h)
        value_rect = pygame.Rect(inner.x, inner.y + label_h, inner.w, inner.h - label_h)
        if value_rect.h * 0.8 < lay.type_size(style) * 0.6:
            # A short tile (a birthday banner and the check-in row above and below it): the label
            # goes beside the number, which then has the tile's whole height rather than a sliver.
            label_w = min(ctx.fonts.get(lay.type_size("label")).size(label)[0], inner.w // 3)
            label_rect = pygame.Rect(inner.x, inner.y, label_w, inner.h)
            value_rect = pygame.Rect(
                label_rect.right + lay.gap * 2, inner.y, inner.right - label_rect.right - lay.gap * 2, inner.h
            )
        self._add(
            plan_text(
                ctx, "", label, label_rect, size=lay.type_size("label"), color=theme.TEXT_SECONDARY, min_scale=0.6
            )
        )
        size = min(lay.type_size(style), round(value_rect.h * 0.8))
        # Numbers shrink as far as they must and are never cut.
        self._add(plan_text(ctx, field, value, value_rect, size=size, color=color, bold=True, min_scale=0.25))

    def _plan_details(self, rect: pygame.Rect) -> None:
        ctx, lay, member = self.ctx, self.ctx.layout, self.member
        self.panels.append((rect, theme.PANEL))
        inner = inset(rect, round(lay.gap * 1.5))
        body_size, small_size = lay.type_size("body"), lay.type_size("small")
        line_h = round(body_size * 1.25)
        head_h = round(small_size * 1.35)
        if member.redemptions_locked:
            # Locked after wrong PINs: said before anything else, with where to go.
            row = pygame.Rect(inner.x, inner.y, inner.w, line_h)
            self._add(
                plan_text(
                    ctx, PIN_LOCK, ctx.t("member_pin_locked"), row, size=body_size, color=theme.ERROR, bold=True,
                    min_scale=0.7,
                )
            )  # fmt: skip
            inner = pygame.Rect(inner.x, inner.y + line_h, inner.w, inner.h - line_h)
        if member.member_day is not None:
            # 会员日 first: it changes what a purchase today earns.
            row = pygame.Rect(inner.x, inner.y, inner.w, line_h)
            self._add(
                plan_text(
                    ctx, MEMBER_DAY, member_day_text(ctx, member), row, size=body_size, color=theme.CELEBRATION,
                    bold=True, min_scale=0.7,
                )
            )  # fmt: skip
            inner = pygame.Rect(inner.x, inner.y + line_h, inner.w, inner.h - line_h)
        # Progress to the next tier: the amount still needed is the headline, the bar the picture.
        progress = wrap_block(
            ctx,
            PROGRESS,
            progress_text(ctx, member),
            inner,
            line_h,
            size=body_size,
            bold=True,
            max_lines=2,
            min_scale=0.75,  # one smaller line leaves a line for the benefits
        )
        for line in progress:
            self._add(line)
        y = inner.y + line_h * len(progress) + lay.gap // 2
        bar = pygame.Rect(inner.x, y, inner.w, max(8, round(lay.unit * 2.4)))
        tier_code = member.progress.next_tier.code if member.progress.next_tier else member.tier.code
        self.bars.append((bar, member.progress.fraction, theme.tier_style(tier_code).fill))
        y = bar.bottom + round(lay.gap * 1.5)

        expiries = expiry_texts(ctx, member)
        benefits = [
            (field, line.text)
            for field, text in benefit_items(ctx, member)
            for line in wrap_block(ctx, field, text, inner, line_h, size=body_size, min_scale=0.8)
        ]
        avail = inner.bottom - y
        benefits_head = lay.gap + head_h
        exp_n = max(1, len(expiries))  # "no points expiring soon" takes a line too
        needed = head_h + exp_n * line_h + (benefits_head + len(benefits) * line_h if benefits else 0)
        show_exp, show_ben = exp_n, len(benefits)
        # As tall as a footer button's label needs, and never below the 9 mm a finger needs.
        more_h = max(lay.min_target, round(lay.type_size("button") * 1.9))
        self._more_rect = pygame.Rect(inner.x, inner.bottom - more_h, inner.w, more_h)
        if needed > avail or self.hidden:
            # Not everything fits (here, or in the points column: the button shows either way):
            # the button that opens it all takes the bottom, the soonest expiries keep their lines,
            # the benefits get what is left, any rest goes to expiries.
            avail -= more_h + lay.gap
            room = (avail - head_h - (benefits_head if benefits else 0)) // line_h
            show_exp = min(exp_n, MIN_EXPIRY_LINES, max(0, room))
            show_ben = min(len(benefits), max(0, room - show_exp))
            if show_ben == 0:
                room = (avail - head_h) // line_h  # no benefits header then
            show_exp = min(exp_n, max(0, room - show_ben))

        self._add(self._label(ctx.t("expiries"), inner.x, y, inner.w, head_h))
        y += head_h
        if not expiries:
            self._add(
                plan_text(ctx, "", ctx.t("no_expiries"), pygame.Rect(inner.x, y, inner.w, line_h), size=body_size)
            )
            y += line_h
        for i, text in enumerate(expiries[:show_exp]):
            row = pygame.Rect(inner.x, y, inner.w, line_h)
            self._add(plan_text(ctx, expiry_field(i), text, row, size=body_size, color=theme.WARNING, min_scale=0.8))
            y += line_h
        self.hidden.extend(expiry_field(i) for i in range(show_exp, len(expiries)))
        if benefits and show_ben:
            y += lay.gap
            self._add(self._label(ctx.t("benefits"), inner.x, y, inner.w, head_h))
            y += head_h
            for i, (field, text) in enumerate(benefits[:show_ben]):
                cut_here = i == show_ben - 1 and show_ben < len(benefits) and benefits[show_ben][0] == field
                if cut_here:
                    # The text goes on past the room: say so on the line itself.
                    text = cut_to_fit(ctx, text + "…", body_size, inner.w, False)
                row = pygame.Rect(inner.x, y, inner.w, line_h)
                line = plan_text(ctx, field, text, row, size=body_size, min_scale=0.8)
                self._add(replace(line, complete=line.complete and not cut_here))
                y += line_h
        for field, _ in benefits[show_ben:]:
            if field not in self.hidden:
                self.hidden.append(field)

    def _label(self, text: str, x: int, y: int, w: int, h: int) -> Line:
        lay = self.ctx.layout
        return plan_text(
            self.ctx,
            "",
            text,
            pygame.Rect(x, y, w, h),
            size=lay.type_size("small"),
            color=theme.TEXT_SECONDARY,
            min_scale=0.6,
        )

    def _sheet_rows(self) -> list[SheetRow]:
        """Every field, one line of text per row, wrapped to the sheet's width."""
        ctx, lay, member = self.ctx, self.ctx.layout, self.member
        width = inset(self.body, lay.gap * 2, lay.gap).w - lay.gap * 2  # room for the scroll bar
        rows: list[SheetRow] = []

        def add(
            field: str, text: str, style: str = "body", color: theme.Color = theme.TEXT, bold: bool = False
        ) -> None:
            if style == "small":
                rows.append(SheetRow(field, text, style, theme.TEXT_SECONDARY))
                return
            for part in wrap_lines(ctx, text, lay.type_size(style), width, bold) or [text]:
                rows.append(SheetRow(field, part, style, color, bold))

        add("", ctx.t("member_label"), "small")
        add(NAME, member.masked_name, bold=True)
        if member.birthday_today:
            add(BIRTHDAY, ctx.t("birthday"), color=theme.CELEBRATION, bold=True)
        if member.redemptions_locked:
            add(PIN_LOCK, ctx.t("member_pin_locked"), color=theme.ERROR, bold=True)
        if member.member_day is not None:
            add(MEMBER_DAY, member_day_text(ctx, member), color=theme.CELEBRATION, bold=True)
        add("", ctx.t("tier_label"), "small")
        add(TIER, local(member.tier.name, ctx.locale), bold=True)
        if member.checkin is not None:
            add(
                CHECKIN,
                checkin_text(ctx, member),
                color=theme.SUCCESS if member.checkin.checked_in_today else theme.TEXT,
            )
        if member.wheel is not None:
            add(WHEEL, wheel_text(ctx, member))
        add("", ctx.t("progress_label"), "small")
        add(PROGRESS, progress_text(ctx, member))
        add("", ctx.t("expiries"), "small")
        expiries = expiry_texts(ctx, member)
        if not expiries:
            add("", ctx.t("no_expiries"))
        for i, text in enumerate(expiries):
            add(expiry_field(i), text, color=theme.WARNING)
        items = benefit_items(ctx, member)
        if items:
            add("", ctx.t("benefits"), "small")
        for field, text in items:
            add(field, text)
        add(AS_OF, ctx.t("as_of", time=datetime_text(member.as_of, ctx.tz, ctx.locale)), color=theme.TEXT_SECONDARY)
        return rows

    # --- drawing ----------------------------------------------------------------------------
    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        self.header_lines = draw_member_header(self, surface, rect, self.member)

    def draw_body(self, surface: pygame.Surface) -> None:
        if self.sheet_open:
            self.draw_sheet(surface)
            return
        for rect, color in self.panels:
            draw_panel(surface, self.ctx, rect, color)
        for bar, fraction, color in self.bars:
            draw_progress(surface, bar, fraction, color)
        for line in self.lines:
            draw_line(surface, self.ctx, line)

    def draw_sheet(self, surface: pygame.Surface) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        draw_panel(surface, ctx, self.body)
        title = pygame.Rect(self.sheet_title)
        title.w = self.close_button.rect.x - lay.gap * 2 - title.x
        draw_line(
            surface,
            ctx,
            plan_text(ctx, "", ctx.t("details_title"), title, size=lay.type_size("title"), bold=True, min_scale=0.6),
        )
        self.sheet_lines = []
        self.sheet.draw(surface, self._draw_sheet_row)

    def _draw_sheet_row(self, surface: pygame.Surface, index: int, rect: pygame.Rect) -> None:
        row = self.sheet_rows[index]
        line = plan_text(
            self.ctx,
            row.field,
            row.text,
            rect,
            size=self.ctx.layout.type_size(row.style),
            color=row.color,
            bold=row.bold,
            min_scale=0.6,
        )
        draw_line(surface, self.ctx, line)
        if self.sheet.rect.contains(rect):  # only rows wholly in view count as shown
            self.sheet_lines.append(line)

    # --- touch ------------------------------------------------------------------------------
    def tap(self, pos: tuple[int, int]) -> Intent | None:
        button = self.button_at(pos)
        if button is None:
            return None
        if button.key in (DETAILS_KEY, DETAILS_CLOSE_KEY):
            self.set_sheet_open(button.key == DETAILS_KEY)
            return None
        return button.intent

    def set_sheet_open(self, open_: bool) -> None:
        """Open or close the sheet with every field (a view matter: no intent, just a redraw)."""
        if open_ == self.sheet_open:
            return
        self.sheet_open = open_
        # The check-in button lies in the body the sheet covers: it goes and comes back with it.
        in_body = [
            b for b in (self.details_button, self.checkin_button, self.wheel_button, self.gift_button) if b is not None
        ]
        if open_:
            self.buttons = [b for b in self.buttons if b not in in_body] + [self.close_button]
        else:
            self.buttons = [b for b in self.buttons if b is not self.close_button] + in_body
        self.needs_redraw = True

    def scroll(self, dy: float) -> pygame.Rect | None:
        if self.sheet_open and self.sheet.scroll(dy):
            return self.sheet.rect
        return None
