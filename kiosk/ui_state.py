"""The states the screens render and the intents touches turn into.

`kiosk.session` moves between these states; `screens/` draws whichever one is current and maps
touches to intents. Both sides only share these frozen dataclasses, so either can be tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.model import (
    CheckinResult,
    HistoryItem,
    MemberView,
    NoticeKind,
    PendingRedemptionView,
    RewardOption,
    SpinResult,
    VoucherView,
    WheelStatus,
)

# --- states -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Idle:
    """Attract screen: store name, "tap your card", clock, online/offline mark."""

    store_name: str
    online: bool


@dataclass(frozen=True)
class Reading:
    """A card is in the field and being read and verified."""


@dataclass(frozen=True)
class MemberHome:
    member: MemberView
    online: bool


@dataclass(frozen=True)
class Rewards:
    """The catalog for this member: affordable first, then greyed ones with points missing."""

    member: MemberView
    options: tuple[RewardOption, ...]
    online: bool


@dataclass(frozen=True)
class Confirm:
    """Points before and after; the intent id makes a double tap on confirm harmless."""

    member: MemberView
    option: RewardOption
    points_after: int
    intent_id: str
    online: bool
    busy: bool = False  # a confirm is being carried out (card write in progress)


#: Why a keypad shows no keys: `PinEntry.blocked`.
PIN_LOCKED = "locked"  # too many wrong PINs: "ask at the service desk to unlock"
PIN_NOT_SET = "not_set"  # the rules ask for a PIN and the member has none: "set one at the service desk"


@dataclass(frozen=True)
class PinEntry:
    """The PIN keypad between confirm and redemption, when the rules ask for the member's PIN.

    `keys` are the ten digits in the order the keypad shows them: shuffled for every keypad shown
    (smudges and a watcher's glance learn nothing from positions). The digits typed stay in the
    session; the state only says how many (`entered`), for the dots. `failures_left` is set after
    a wrong PIN; `blocked` replaces the keypad with where to go instead (PIN_LOCKED, PIN_NOT_SET).
    """

    member: MemberView
    option: RewardOption
    intent_id: str
    keys: tuple[int, ...]
    entered: int
    online: bool
    failures_left: int | None = None
    blocked: str | None = None


@dataclass(frozen=True)
class VoucherIssued:
    member: MemberView
    voucher: VoucherView
    online: bool


@dataclass(frozen=True)
class RedemptionAwaitingCard:
    """Instead of the member screen while the card still owes a redemption its write: what is
    pending, and "hold the card on the reader again". No rewards are offered until it is done."""

    member: MemberView
    pending: PendingRedemptionView
    online: bool


@dataclass(frozen=True)
class MyVouchers:
    member: MemberView
    vouchers: tuple[VoucherView, ...]
    online: bool


@dataclass(frozen=True)
class MemberHistory:
    """积分明细: the member's last point movements, newest first; this kiosk's own events HQ has not
    confirmed yet are among them, marked pending."""

    member: MemberView
    items: tuple[HistoryItem, ...]
    online: bool


@dataclass(frozen=True)
class CheckedIn:
    """每日签到 done: the points earned, the streak it makes and the bonus, if any, briefly shown
    over the member screen (`member` is already the view after the check-in)."""

    member: MemberView
    result: CheckinResult
    online: bool


#: How long the wheel turns before it shows the prize (the session reveals it; screens.wheel
#: draws the light on the same curve).
SPIN_SECONDS = 3.0


@dataclass(frozen=True)
class WheelSpin:
    """The prize wheel (幸运大转盘). Before a spin `result` is None and `status` says what the next
    spin costs; `spin_id` is the id the spin button carries (a double tap spins once). After a
    spin, `result` is the prize (already recorded: the wheel only shows it), `spun_at` the
    monotonic time the animation started, and `revealed` turns true when it has stopped."""

    member: MemberView
    status: WheelStatus
    spin_id: str
    online: bool
    result: SpinResult | None = None
    spun_at: float | None = None
    revealed: bool = False


@dataclass(frozen=True)
class Notice:
    """A message instead of member data: not a member card, blocked, rejected, faults, limits."""

    kind: NoticeKind
    detail: str = ""  # short machine-safe detail for staff (never member data)
    online: bool = True


UiState = (
    Idle
    | Reading
    | MemberHome
    | Rewards
    | Confirm
    | PinEntry
    | VoucherIssued
    | RedemptionAwaitingCard
    | MyVouchers
    | MemberHistory
    | CheckedIn
    | WheelSpin
    | Notice
)

_SCREEN_NAMES = {
    Idle: "idle",
    Reading: "reading",
    MemberHome: "member",
    Rewards: "rewards",
    Confirm: "confirm",
    PinEntry: "pin",
    VoucherIssued: "voucher",
    RedemptionAwaitingCard: "redemption_pending",
    MyVouchers: "vouchers",
    MemberHistory: "history",
    CheckedIn: "checked_in",
    WheelSpin: "wheel",
    Notice: "notice",
}


def screen_name(state: UiState) -> str:
    """The short name of the screen a state shows, as systemd's STATUS line and tools print it."""
    return _SCREEN_NAMES[type(state)]


# --- intents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRewards:
    pass


@dataclass(frozen=True)
class ChooseReward:
    reward_id: str


@dataclass(frozen=True)
class ConfirmRedeem:
    intent_id: str


@dataclass(frozen=True)
class Back:
    """One step back (rewards -> member, confirm -> rewards, vouchers -> member)."""


@dataclass(frozen=True)
class Done:
    """End the session now: clear member data and return to idle."""


@dataclass(frozen=True)
class OpenVouchers:
    pass


@dataclass(frozen=True)
class OpenHistory:
    """Show the member's points history (积分明细)."""


@dataclass(frozen=True)
class PinDigit:
    """A digit key of the PIN keypad."""

    digit: int


@dataclass(frozen=True)
class PinDelete:
    """The keypad's delete key: drop the last digit typed."""


@dataclass(frozen=True)
class PinSubmit:
    """The keypad's OK key: check the digits typed."""


@dataclass(frozen=True)
class CheckIn:
    """每日签到: check the member in for today (the member screen's button)."""


@dataclass(frozen=True)
class ClaimBirthdayGift:
    """Claim this year's birthday gift (the member screen's birthday banner)."""


@dataclass(frozen=True)
class OpenWheel:
    """Show the prize wheel (the member screen's wheel row)."""


@dataclass(frozen=True)
class SpinWheel:
    """The wheel's spin button: spin once under `spin_id`."""

    spin_id: str


@dataclass(frozen=True)
class ToggleLocale:
    pass


@dataclass(frozen=True)
class Scroll:
    """Scroll a list by `delta` pixels' worth (positive = content moves up)."""

    delta: float = field(default=0.0)


Intent = (
    OpenRewards
    | ChooseReward
    | ConfirmRedeem
    | Back
    | Done
    | OpenVouchers
    | OpenHistory
    | CheckIn
    | OpenWheel
    | SpinWheel
    | ClaimBirthdayGift
    | PinDigit
    | PinDelete
    | PinSubmit
    | ToggleLocale
    | Scroll
)
