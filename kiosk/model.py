"""What the kiosk core shows: small frozen view objects shared by the domain and the screens.

The ledger and the card checks produce these; `screens/` draws them and nothing else. They carry
plain values (integer fen, timezone-aware datetimes, texts in both locales) so a screen never has
to ask the ledger anything.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Texts that exist in both UI languages, keyed by locale code ("zh_CN", "en").
LocalText = Mapping[str, str]

LOCALES: tuple[str, ...] = ("zh_CN", "en")


def local(text: LocalText, locale: str) -> str:
    """Pick the text for `locale`, falling back to the other language rather than to nothing."""
    if locale in text and text[locale]:
        return text[locale]
    for other in LOCALES:
        if text.get(other):
            return text[other]
    return ""


@dataclass(frozen=True)
class TierInfo:
    """One rung of the tier ladder as the member sees it."""

    code: str  # "regular", "silver", "gold", "diamond", ... as HQ's rules name them
    name: LocalText  # {"zh_CN": "金卡", "en": "Gold"}
    discount_pct: int  # price paid in percent: 90 means 10% off
    points_multiplier: str  # decimal as text, e.g. "1.5"; display only
    benefits: LocalText = field(default_factory=dict)


@dataclass(frozen=True)
class PointExpiry:
    """`points` of the member's points lapse at `expires_at` (store timezone)."""

    points: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class TierProgress:
    """How far the member is from the next tier, and on which measure."""

    next_tier: TierInfo | None  # None at the top of the ladder
    measure: str  # "spend_fen" or "growth_points"
    current: int
    threshold: int | None
    still_needed: int  # fen or points; 0 at the top

    @property
    def fraction(self) -> float:
        """0.0..1.0 along the way to the next threshold (1.0 at the top)."""
        if self.threshold is None or self.threshold <= 0:
            return 1.0
        return max(0.0, min(1.0, self.current / self.threshold))


@dataclass(frozen=True)
class CheckinStatus:
    """Daily check-in (每日签到) as the member screen shows it.

    `streak` is the run of consecutive store days ending today or yesterday (0 once broken);
    `next_points` what a check-in now would earn, bonus included (0 when checked in today).
    """

    checked_in_today: bool
    streak: int
    next_points: int


@dataclass(frozen=True)
class CheckinResult:
    """A check-in just made: the points earned (bonus included), the streak it makes, the day."""

    day: dt.date
    points: int
    bonus: int
    streak: int
    offline: bool


@dataclass(frozen=True)
class WheelSegment:
    """One segment of the prize wheel as drawn: the prize's id, kind and name."""

    prize_id: str
    kind: str  # "nothing", "points" or "voucher"
    name: dict[str, str]
    available: bool = True  # False: this kiosk gave its stock of it under the current rules


@dataclass(frozen=True)
class WheelStatus:
    """The prize wheel (幸运大转盘) for one member today.

    `free_left`: free spins left today (fleet-wide as far as HQ has said); `cost_points`: what the
    next spin costs (0 while a free one is left); `can_spin` False with `reason` ("points",
    "paid_limit", "offline_limit", "no_prizes") when the next spin is not possible.
    """

    segments: tuple[WheelSegment, ...]
    free_left: int
    cost_points: int
    can_spin: bool
    reason: str | None = None


@dataclass(frozen=True)
class SpinResult:
    """One spin of the wheel: which segment won and what the member got for what it cost."""

    spin_id: str
    segment: int  # index into WheelStatus.segments
    prize_id: str
    kind: str
    name: dict[str, str]
    points: int  # points won (kind "points")
    cost_points: int  # 0 for a free spin
    free: bool
    offline: bool
    voucher: VoucherView | None = None  # kind "voucher"


@dataclass(frozen=True)
class BirthdayGiftStatus:
    """The birthday gift (生日礼) in its claim window: what it is, until when, whether it is taken."""

    name: dict[str, str]
    value_fen: int
    until: dt.date  # the last store day it can be claimed
    claimed: bool  # claimed this year (here, or at another kiosk as HQ said)


@dataclass(frozen=True)
class MemberDayInfo:
    """Today is member day (会员日): purchases earn `points_multiplier` times the points at HQ."""

    name: dict[str, str]
    points_multiplier: str  # a decimal as text, "2"


@dataclass(frozen=True)
class MemberView:
    """Everything the member screen shows; the name is already masked (张*明)."""

    member_id: str
    masked_name: str
    tier: TierInfo
    progress: TierProgress
    balance_fen: int
    points: int
    expiries: tuple[PointExpiry, ...]
    birthday_today: bool
    rules_version: int
    as_of: dt.datetime  # when this view was computed (store timezone)
    checkin: CheckinStatus | None = None  # None: the rules offer no daily check-in
    wheel: WheelStatus | None = None  # None: the rules have no prize wheel
    birthday_gift: BirthdayGiftStatus | None = None  # None: none offered, or outside its window
    member_day: MemberDayInfo | None = None  # None: today is not member day
    redemptions_locked: bool = False  # too many wrong PINs: the service desk unlocks


@dataclass(frozen=True)
class RewardOption:
    """A catalog reward as offered to one member right now."""

    reward_id: str
    name: LocalText
    kind: str  # "money_off", "item", "service"
    cost_points: int
    value_fen: int
    validity_days: int
    affordable: bool
    points_missing: int  # 0 when affordable
    available: bool  # False when stock, tier, dates or per-member limit forbid it
    unavailable_reason: str | None = None  # machine code, e.g. "tier", "stock", "limit"


class VoucherState(str, enum.Enum):
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    #: The till voided the sale the voucher paid for: usable again (until it expires).
    REVERSED = "reversed"

    @property
    def usable(self) -> bool:
        """Whether a till would take the voucher now (as far as the kiosk knows)."""
        return self in (VoucherState.ISSUED, VoucherState.REVERSED)


@dataclass(frozen=True)
class VoucherView:
    """A voucher the member holds; `code` is the signed code the QR carries."""

    voucher_id: str
    code: str
    short_code: str
    reward_name: LocalText
    value_fen: int
    issued_at: dt.datetime
    expires_at: dt.datetime
    state: VoucherState
    offline: bool  # issued while HQ was unreachable
    # Where and when HQ last changed the state (used at a till, cancelled, reversed), when HQ said.
    state_at: dt.datetime | None = None
    state_store: str | None = None
    state_till: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    """One line of the member's points history (积分明细).

    `kind` is HQ's entry kind ("earn", "refund", "redemption", "expire", "voucher_cancel", or one
    a newer HQ invents, which the screen shows under a generic label). `points` is signed: +120
    earned, -800 redeemed. `place` is where it happened as HQ names it (the store of a purchase,
    the kiosk of a redemption), None when nowhere in particular (an expiry). `pending`: this kiosk's
    own event that HQ has not confirmed yet.
    """

    kind: str
    points: int
    at: dt.datetime
    place: str | None
    pending: bool = False


@dataclass(frozen=True)
class PendingRedemptionView:
    """A redemption waiting for the member's card: its card write was cut short, so nothing is
    issued yet and its points are only held. Presenting the card again finishes it."""

    reward_name: LocalText
    cost_points: int
    prepared_at: dt.datetime


class PinRequirement(str, enum.Enum):
    """What stands between a member and a redemption as far as the PIN goes (kiosk.ledger.pin_lock)."""

    NOT_NEEDED = "not_needed"  # the rules do not ask (and nothing is locked)
    NEEDED = "needed"  # ask for the PIN
    NOT_SET = "not_set"  # the rules ask, but HQ has no PIN for the member: the service desk sets one
    LOCKED = "locked"  # too many wrong PINs: the service desk unlocks


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN entered at the keypad."""

    ok: bool
    locked: bool  # the member's redemptions are locked (now, or already were)
    failures_left: int  # wrong PINs still allowed before the lock (0 when locked)


class NoticeKind(str, enum.Enum):
    """Why the kiosk cannot show a member: each has its own screen and wording."""

    NOT_A_MEMBER_CARD = "not_a_member_card"
    CARD_BLOCKED = "card_blocked"
    CARD_REJECTED = "card_rejected"
    READER_FAULT = "reader_fault"
    OFFLINE_LIMIT = "offline_limit"
    OUT_OF_SERVICE = "out_of_service"
    REDEMPTION_FAILED = "redemption_failed"
    CARD_REMOVED_TOO_SOON = "card_removed_too_soon"
    REDEMPTION_PENDING = "redemption_pending"  # the card still owes an earlier redemption its write
    CLOCK_UNTRUSTED = "clock_untrusted"  # offline with a clock not synchronised since boot (no RTC)
