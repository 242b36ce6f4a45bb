"""Fixed example view objects for screenshots, the render benchmark and the screen tests.

They are plain `kiosk.model` values (what the ledger would produce), chosen to exercise the
layout: a long reward name, an unaffordable reward, a blocked one, an offline voucher, vouchers
used, cancelled and returned at a till with the time and store HQ reported, a points history
with every kind, a pending redemption and a very long store name.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kiosk.model import (
    BirthdayGiftStatus,
    CheckinResult,
    CheckinStatus,
    HistoryItem,
    MemberDayInfo,
    MemberView,
    NoticeKind,
    PendingRedemptionView,
    PointExpiry,
    RewardOption,
    SpinResult,
    TierInfo,
    TierProgress,
    VoucherState,
    VoucherView,
    WheelSegment,
    WheelStatus,
)
from kiosk.ui_state import (
    PIN_LOCKED,
    PIN_NOT_SET,
    CheckedIn,
    Confirm,
    Idle,
    MemberHistory,
    MemberHome,
    MyVouchers,
    Notice,
    PinEntry,
    Reading,
    RedemptionAwaitingCard,
    Rewards,
    UiState,
    VoucherIssued,
    WheelSpin,
)

STORE_TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 14, 9, 41, tzinfo=STORE_TZ)
STORE_NAME = "鲜丰生活超市 · 万象城店"

GOLD = TierInfo(
    code="gold",
    name={"zh_CN": "金卡", "en": "Gold"},
    discount_pct=90,
    points_multiplier="1.5",
    benefits={"zh_CN": "生日当月双倍积分，会员日专享价", "en": "Double points in your birthday month"},
)
DIAMOND = TierInfo(
    code="diamond",
    name={"zh_CN": "钻石", "en": "Diamond"},
    discount_pct=85,
    points_multiplier="2",
    benefits={"zh_CN": "专属客服，免费配送", "en": "Free delivery"},
)
SILVER = TierInfo(code="silver", name={"zh_CN": "银卡", "en": "Silver"}, discount_pct=95, points_multiplier="1.2")


#: 每日签到 as the sample members show it: a 2-day streak, today's check-in still to do.
CHECKIN_OPEN = CheckinStatus(checked_in_today=False, streak=2, next_points=5)


#: The prize wheel (幸运大转盘) of the samples: the demo's five prizes, the ¥20 one given out here.
WHEEL_SEGMENTS = (
    WheelSegment("thanks", "nothing", {"zh_CN": "谢谢参与", "en": "Better luck next time"}),
    WheelSegment("pts-10", "points", {"zh_CN": "10积分", "en": "10 points"}),
    WheelSegment("pts-50", "points", {"zh_CN": "50积分", "en": "50 points"}),
    WheelSegment("tea", "voucher", {"zh_CN": "奶茶一杯", "en": "A milk tea"}),
    WheelSegment("off-20", "voucher", {"zh_CN": "20元代金券", "en": "¥20 voucher"}, available=False),
)
WHEEL_FREE = WheelStatus(WHEEL_SEGMENTS, free_left=1, cost_points=0, can_spin=True)
WHEEL_PAID = WheelStatus(WHEEL_SEGMENTS, free_left=0, cost_points=5, can_spin=True)


def member(
    birthday: bool = False,
    points: int = 12_860,
    checkin: CheckinStatus | None = CHECKIN_OPEN,
    wheel: WheelStatus | None = WHEEL_FREE,
    birthday_gift: BirthdayGiftStatus | None = None,
    member_day: MemberDayInfo | None = None,
    redemptions_locked: bool = False,
) -> MemberView:
    return MemberView(
        member_id="M000123",
        masked_name="张*明",
        tier=GOLD,
        progress=TierProgress(
            next_tier=DIAMOND, measure="spend_fen", current=683_450, threshold=1_000_000, still_needed=316_550
        ),
        balance_fen=123_450,
        points=points,
        expiries=(
            PointExpiry(points=1_200, expires_at=dt.datetime(2026, 3, 31, 23, 59, tzinfo=STORE_TZ)),
            PointExpiry(points=3_500, expires_at=dt.datetime(2026, 6, 30, 23, 59, tzinfo=STORE_TZ)),
        ),
        birthday_today=birthday,
        rules_version=7,
        as_of=NOW,
        checkin=checkin,
        wheel=wheel,
        birthday_gift=birthday_gift,
        member_day=member_day,
        redemptions_locked=redemptions_locked,
    )


PLATINUM = TierInfo(
    code="platinum",
    name={"zh_CN": "铂金会员", "en": "Platinum Plus"},
    discount_pct=88,
    points_multiplier="1.8",
    benefits={
        "zh_CN": "生日当月双倍积分；会员日全场折上再享95折；每月两张免运费券；"
        "专属客服热线；停车免费3小时；新品优先试用",
        "en": "Double points in your birthday month; an extra 5% off on member day; two free-delivery vouchers "
        "a month; a dedicated service line; 3 hours' free parking; early access to new products",
    },
)
BLACK_DIAMOND = TierInfo(
    code="diamond",
    name={"zh_CN": "黑钻至尊会员", "en": "Black Diamond Elite"},
    discount_pct=80,
    points_multiplier="3",
)


def long_member() -> MemberView:
    """The longest a member's data realistically gets: a long name, a long tier name and benefits
    text, progress on growth points, six upcoming expiries and a birthday, all at once."""
    return MemberView(
        member_id="M009876",
        masked_name="古********江",  # 古丽娜扎尔·买买提江
        tier=PLATINUM,
        progress=TierProgress(
            next_tier=BLACK_DIAMOND, measure="growth_points", current=76_544, threshold=200_000, still_needed=123_456
        ),
        balance_fen=12_345_678,
        points=1_234_567,
        expiries=tuple(
            PointExpiry(points=p, expires_at=dt.datetime(2026, month, day, 23, 59, tzinfo=STORE_TZ))
            for p, month, day in (
                (28_800, 12, 31),
                (1_200, 3, 31),
                (3_500, 6, 30),
                (15_000, 9, 30),
                (600, 4, 30),
                (99_999, 11, 30),
            )
        ),
        birthday_today=True,
        rules_version=12,
        as_of=NOW,
        # A 6-day streak: the 7th day's check-in shows the bonus on the button (the widest label).
        checkin=CheckinStatus(checked_in_today=False, streak=6, next_points=1_055),
        wheel=WheelStatus(WHEEL_SEGMENTS, free_left=0, cost_points=12_345, can_spin=True),
    )


def reward_options() -> tuple[RewardOption, ...]:
    def option(rid, zh, en, kind, cost, value, affordable=True, available=True, reason=None, have=12_860):
        return RewardOption(
            reward_id=rid,
            name={"zh_CN": zh, "en": en},
            kind=kind,
            cost_points=cost,
            value_fen=value,
            validity_days=30,
            affordable=affordable,
            points_missing=0 if affordable else cost - have,
            available=available,
            unavailable_reason=reason,
        )

    return (
        option("R10", "10元代金券", "¥10 voucher", "money_off", 1_000, 1_000),
        option("R50", "50元代金券", "¥50 voucher", "money_off", 5_000, 5_000),
        option(
            "TEA", "招牌奶茶一杯（大杯，少糖可选）", "Signature milk tea, large, sugar to taste", "item", 1_800, 1_600
        ),
        option("BAG", "环保购物袋", "Reusable shopping bag", "item", 600, 990),
        option("R200", "200元代金券", "¥200 voucher", "money_off", 20_000, 20_000, affordable=False),
        option("OIL", "金龙鱼食用油 5L", "Cooking oil 5 L", "item", 15_000, 8_990, affordable=False),
        option(
            "SPA",
            "钻石会员专享护理",
            "Diamond members' spa treatment",
            "service",
            9_000,
            30_000,
            available=False,
            reason="tier",
        ),
    )


#: When and where HQ says the sample vouchers were used, cancelled or returned.
STATE_AT = dt.datetime(2026, 3, 12, 14, 5, tzinfo=STORE_TZ)
STATE_STORE = "store-1"


def voucher(
    offline: bool = False,
    state: VoucherState = VoucherState.ISSUED,
    short: str = "7Q4K-92MX",
    name: tuple[str, str] = ("10元代金券", "¥10 voucher"),
    value: int = 1_000,
    at: dt.datetime | None = None,
    store: str | None = None,
) -> VoucherView:
    return VoucherView(
        voucher_id=f"V-{short}",
        code=f"KV1.K01.{short.replace('-', '')}.20260413.Zm9vYmFyYmF6cXV4c2lnbmF0dXJl",
        short_code=short,
        reward_name={"zh_CN": name[0], "en": name[1]},
        value_fen=value,
        issued_at=NOW,
        expires_at=dt.datetime(2026, 4, 13, 23, 59, tzinfo=STORE_TZ),
        state=state,
        offline=offline,
        state_at=at,
        state_store=store,
        state_till="till-3" if store else None,
    )


def my_vouchers() -> tuple[VoucherView, ...]:
    return (
        voucher(),
        voucher(
            short="B7M2-4KQ8",
            name=("招牌奶茶一杯", "Signature milk tea"),
            value=1_600,
            offline=True,
            state=VoucherState.REVERSED,
            at=STATE_AT,
            store=STATE_STORE,
        ),
        voucher(
            short="C9X1-77PA",
            name=("50元代金券", "¥50 voucher"),
            value=5_000,
            state=VoucherState.USED,
            at=STATE_AT,
            store=STATE_STORE,
        ),
        voucher(short="D3RT-1LZE", name=("环保购物袋", "Reusable shopping bag"), value=990, state=VoucherState.EXPIRED),
    )


def used_vouchers() -> tuple[VoucherView, ...]:
    """None usable: the first shown (a voucher used at a till) takes the QR code's place with why not."""
    return (
        voucher(
            short="C9X1-77PA",
            name=("50元代金券", "¥50 voucher"),
            value=5_000,
            state=VoucherState.USED,
            at=STATE_AT,
            store=STATE_STORE,
        ),
        voucher(
            short="E5HW-0QNB",
            name=("招牌奶茶一杯", "Signature milk tea"),
            value=1_600,
            state=VoucherState.CANCELLED,
            at=STATE_AT - dt.timedelta(days=1),
        ),
        voucher(short="D3RT-1LZE", name=("环保购物袋", "Reusable shopping bag"), value=990, state=VoucherState.EXPIRED),
    )


#: A store name as long as real ones get (the place HQ names is the store's id or name as it chose).
LONG_STORE = "鲜丰生活超市 · 杭州万象城旗舰店（B1层东区 Fresh Market Flagship）"


def history() -> tuple[HistoryItem, ...]:
    """积分明细 newest first: a redemption here HQ has not confirmed yet (pending), then HQ's list
    with a purchase at a store with a very long name, a refund, a redemption at another kiosk, an
    expiry (no place), a cancelled voucher's points back and a kind this kiosk does not know."""

    def at(month: int, day: int, hour: int, minute: int) -> dt.datetime:
        return dt.datetime(2026, month, day, hour, minute, tzinfo=STORE_TZ)

    return (
        HistoryItem("redemption", -1_000, at(3, 14, 9, 38), "K01", pending=True),
        HistoryItem("earn", 1_284, at(3, 12, 14, 5), LONG_STORE),
        HistoryItem("redemption", -5_000, at(3, 8, 18, 22), "store-0002-kiosk-01"),
        HistoryItem("refund", -120, at(3, 2, 11, 47), "store-1"),
        HistoryItem("expire", -800, at(3, 1, 0, 0), None),
        HistoryItem("voucher_cancel", 1_800, at(2, 20, 16, 30), None),
        HistoryItem("earn", 356, at(2, 14, 19, 2), "store-1"),
        HistoryItem("checkin", 5, at(2, 14, 9, 0), "store-1"),
        HistoryItem("earn", 12_000, at(1, 28, 20, 15), LONG_STORE),
    )


#: The keypad's digits in the order the sample keypad shows them.
PIN_KEYS = (7, 2, 9, 0, 4, 1, 8, 5, 3, 6)


def spin(segment: int, *, points: int = 0, offline: bool = False, with_voucher: bool = False) -> SpinResult:
    prize = WHEEL_SEGMENTS[segment]
    return SpinResult(
        spin_id="S-0001",
        segment=segment,
        prize_id=prize.prize_id,
        kind=prize.kind,
        name=prize.name,
        points=points,
        cost_points=0,
        free=True,
        offline=offline,
        voucher=voucher(offline=offline) if with_voucher else None,
    )


def all_states() -> dict[str, UiState]:
    """One example of every screen, keyed by the name used for reference images and screenshots."""
    m = member()
    options = reward_options()
    states: dict[str, UiState] = {
        "idle": Idle(store_name=STORE_NAME, online=True),
        "idle_offline": Idle(store_name=STORE_NAME, online=False),
        "reading": Reading(),
        "member": MemberHome(member=m, online=True),
        "member_birthday": MemberHome(member=member(birthday=True), online=False),
        "member_long": MemberHome(member=long_member(), online=True),
        "member_birthday_gift": MemberHome(
            member=member(
                birthday=True,
                birthday_gift=BirthdayGiftStatus(
                    {"zh_CN": "生日蛋糕券", "en": "Birthday cake voucher"}, 3000, NOW.date(), claimed=False
                ),
            ),
            online=True,
        ),
        "member_day": MemberHome(
            member=member(member_day=MemberDayInfo({"zh_CN": "会员日", "en": "Member day"}, "2")), online=True
        ),
        "member_pin_locked": MemberHome(member=member(redemptions_locked=True), online=True),
        "member_checked_in": MemberHome(
            member=member(checkin=CheckinStatus(checked_in_today=True, streak=3, next_points=0)), online=True
        ),
        "checked_in": CheckedIn(
            member=member(points=12_865, checkin=CheckinStatus(True, 3, 0)),
            result=CheckinResult(day=NOW.date(), points=5, bonus=0, streak=3, offline=False),
            online=True,
        ),
        "checked_in_bonus": CheckedIn(
            member=member(points=12_915, checkin=CheckinStatus(True, 7, 0)),
            result=CheckinResult(day=NOW.date(), points=55, bonus=50, streak=7, offline=True),
            online=False,
        ),
        "rewards": Rewards(member=m, options=options, online=True),
        "confirm": Confirm(
            member=m, option=options[0], points_after=m.points - options[0].cost_points, intent_id="I-0001", online=True
        ),
        "confirm_busy": Confirm(
            member=m,
            option=options[0],
            points_after=m.points - options[0].cost_points,
            intent_id="I-0001",
            online=False,
            busy=True,
        ),
        # The PIN keypad: one fixed shuffle (the session makes a new one for every keypad shown).
        "pin": PinEntry(m, options[1], "I-0002", PIN_KEYS, entered=2, online=True),
        "pin_wrong": PinEntry(m, options[1], "I-0002", PIN_KEYS[::-1], entered=0, online=False, failures_left=2),
        "pin_locked": PinEntry(m, options[1], "I-0002", PIN_KEYS, entered=0, online=True, blocked=PIN_LOCKED),
        "pin_not_set": PinEntry(m, options[1], "I-0002", PIN_KEYS, entered=0, online=True, blocked=PIN_NOT_SET),
        "voucher": VoucherIssued(member=m, voucher=voucher(), online=True),
        "voucher_offline": VoucherIssued(member=m, voucher=voucher(offline=True), online=False),
        "redemption_pending": RedemptionAwaitingCard(
            member=m,
            pending=PendingRedemptionView(
                reward_name=options[0].name, cost_points=options[0].cost_points, prepared_at=NOW
            ),
            online=True,
        ),
        "my_vouchers": MyVouchers(member=m, vouchers=my_vouchers(), online=True),
        "my_vouchers_used": MyVouchers(member=m, vouchers=used_vouchers(), online=True),
        "my_vouchers_empty": MyVouchers(member=m, vouchers=(), online=True),
        "history": MemberHistory(member=m, items=history(), online=True),
        "history_offline": MemberHistory(member=m, items=history()[:2], online=False),
        "history_empty": MemberHistory(member=m, items=(), online=True),
        "wheel": WheelSpin(m, WHEEL_FREE, "S-0001", online=True),
        "wheel_turning": WheelSpin(m, WHEEL_FREE, "S-0001", True, result=spin(1, points=10), spun_at=0.0),
        "wheel_won_points": WheelSpin(
            member(points=12_910, wheel=WHEEL_PAID),
            WHEEL_PAID,
            "S-0002",
            True,
            result=spin(2, points=50),
            spun_at=0.0,
            revealed=True,
        ),
        "wheel_won_voucher": WheelSpin(
            member(wheel=WHEEL_PAID),
            WHEEL_PAID,
            "S-0002",
            True,
            result=spin(3, with_voucher=True),
            spun_at=0.0,
            revealed=True,
        ),
        "wheel_nothing_offline": WheelSpin(
            member(wheel=WHEEL_PAID),
            WheelStatus(WHEEL_SEGMENTS, 0, 5, can_spin=False, reason="offline_limit"),
            "S-0002",
            False,
            result=spin(0, offline=True),
            spun_at=0.0,
            revealed=True,
        ),
        "wheel_no_points": WheelSpin(
            member(points=3, wheel=WHEEL_PAID),
            WheelStatus(WHEEL_SEGMENTS, 0, 5, can_spin=False, reason="points"),
            "S-0003",
            True,
        ),
    }
    for kind in NoticeKind:
        states[f"notice_{kind.value}"] = Notice(
            kind=kind, detail="E-" + kind.value[:6].upper(), online=kind is not NoticeKind.OFFLINE_LIMIT
        )
    return states
