"""The kiosk session: a state machine from card taps and touch intents to what the screen shows.

It is pure: no pygame, no reader, no SQLite. It asks a `SessionPort` (the ledger plus the card
checks, wired in kiosk/service.py) for identities, views and redemptions, and keeps just enough
state to know whose session is open. Member data lives only in the current state and is dropped
when the session ends (done, timeout, or another card), so nothing stays on screen for the next
shopper.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from kiosk.cards.tap import TapOutcome
from kiosk.errors import KioskError
from kiosk.model import (
    CheckinResult,
    HistoryItem,
    MemberView,
    NoticeKind,
    PendingRedemptionView,
    PinCheck,
    PinRequirement,
    RewardOption,
    SpinResult,
    VoucherView,
    WheelStatus,
)
from kiosk.ui_state import (
    PIN_LOCKED,
    PIN_NOT_SET,
    SPIN_SECONDS,
    Back,
    CheckedIn,
    CheckIn,
    ChooseReward,
    ClaimBirthdayGift,
    Confirm,
    ConfirmRedeem,
    Done,
    Idle,
    Intent,
    MemberHistory,
    MemberHome,
    MyVouchers,
    Notice,
    OpenHistory,
    OpenRewards,
    OpenVouchers,
    OpenWheel,
    PinDelete,
    PinDigit,
    PinEntry,
    PinSubmit,
    Reading,
    RedemptionAwaitingCard,
    Rewards,
    Scroll,
    SpinWheel,
    ToggleLocale,
    UiState,
    VoucherIssued,
    WheelSpin,
)

_LOG = logging.getLogger(__name__)

#: Notices are short messages; they clear themselves sooner than a member session times out.
NOTICE_SECONDS = 8.0
#: The check-in confirmation goes back to the member screen by itself after this long.
CHECKED_IN_SECONDS = 5.0
#: Digits a PIN may have (kiosk.ledger.pin_kdf): OK does nothing below the minimum, keys nothing
#: beyond the maximum.
#: Draws are integers below this (kiosk.ledger.wheel.DRAW_BOUND: SQLite's signed 64 bits).
DRAW_BOUND = 2**63
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 6


@dataclass(frozen=True)
class Identified:
    """The card is a valid, current member card for `member_id`."""

    member_id: str
    uid: bytes
    completed_voucher: VoucherView | None = None  # a redemption left pending by a pulled card, now finished
    pending: PendingRedemptionView | None = None  # one the tap could not finish: the card must come back


@dataclass(frozen=True)
class Refused:
    """The card must not open a session; `kind` picks the notice shown."""

    kind: NoticeKind
    detail: str = ""


Identification = Identified | Refused


class RedemptionRefused(KioskError):
    """A redemption was not carried out; `kind` picks the notice, nothing was deducted."""

    def __init__(self, kind: NoticeKind, detail: str = ""):
        super().__init__(detail or kind.value)
        self.kind = kind
        self.detail = detail


class CheckinUnavailable(KioskError):
    """No check-in was made. `kind` None: nothing to explain beyond the member screen (checked in
    today already, or none offered); otherwise the notice to show (the offline limit)."""

    def __init__(self, kind: NoticeKind | None, detail: str = ""):
        super().__init__(detail or (kind.value if kind else "checkin_unavailable"))
        self.kind = kind
        self.detail = detail


class SpinUnavailable(KioskError):
    """No spin was made. `kind` None: the wheel screen explains (`detail`: "points",
    "paid_limit", "offline_limit", "no_prizes", "not_offered"); otherwise the notice to show."""

    def __init__(self, kind: NoticeKind | None, detail: str = ""):
        super().__init__(detail or (kind.value if kind else "spin_unavailable"))
        self.kind = kind
        self.detail = detail


class SessionPort(Protocol):
    """What the session needs from the domain (ledger + card checks + card writes)."""

    def identify(self, outcome: TapOutcome) -> Identification: ...

    def member_view(self, member_id: str) -> MemberView: ...

    def reward_options(self, member_id: str) -> tuple[RewardOption, ...]: ...

    def vouchers(self, member_id: str) -> tuple[VoucherView, ...]: ...

    def points_history(self, member_id: str) -> tuple[HistoryItem, ...]: ...

    def check_in(self, member_id: str, online: bool) -> CheckinResult:
        """每日签到 for today; raises CheckinUnavailable."""

    def wheel_status(self, member_id: str, online: bool) -> WheelStatus | None: ...

    def claim_birthday_gift(self, member_id: str, online: bool) -> VoucherView:
        """This year's birthday gift as a voucher; raises RedemptionRefused."""

    def spin_wheel(self, spin_id: str, member_id: str, online: bool, draw: int) -> SpinResult:
        """One spin of the prize wheel, idempotent by spin id; raises SpinUnavailable."""

    def pin_requirement(self, member_id: str, reward_id: str) -> PinRequirement: ...

    def check_pin(self, member_id: str, pin: str, card_uid: bytes, online: bool) -> PinCheck:
        """Verify and count one PIN entry (the last allowed failure locks the member)."""

    def redeem(
        self, intent_id: str, member_id: str, reward_id: str, card_uid: bytes, online: bool, *, pin_ok: bool = False
    ) -> VoucherView:
        """Carry out one redemption, idempotent by intent id; raises RedemptionRefused.

        `pin_ok`: the member entered the right PIN for it (required where the rules ask for one)."""


class Session:
    """Holds the current UiState and moves it on reader events, intents and time."""

    def __init__(
        self,
        service: SessionPort,
        *,
        store_name: str,
        inactivity_timeout_s: float,
        monotonic: Callable[[], float],
        new_intent_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        is_online: Callable[[], bool] | None = None,
        rng: random.Random | None = None,
    ):
        self._service = service
        self._store_name = store_name
        self._timeout = inactivity_timeout_s
        self._monotonic = monotonic
        self._new_intent_id = new_intent_id
        # Shuffles each PIN keypad; tests inject a seeded one. SystemRandom: an observer must not
        # predict the next keypad's order from the ones they saw.
        self._rng = rng or random.SystemRandom()
        # The digits typed on the keypad: kept here, never in a UiState (states are drawn, compared
        # and logged), and dropped after every check and when the session ends.
        self._pin: list[str] = []
        # Whether HQ is reachable right now: a redemption is marked online or offline by this, at
        # the moment it is made (the on-screen mark follows via set_online on the next tick).
        self._online: bool = False
        self._is_online = is_online or (lambda: self._online)
        self._reader_ok = True
        self._member_id: str | None = None
        self._card_uid: bytes | None = None
        self._card_present = False
        self._last_activity = monotonic()
        self.state: UiState = Idle(store_name, self._online)

    # --- inputs from the reader --------------------------------------------------------

    def card_arrived(self) -> None:
        """A card entered the field and is being read: show that we noticed."""
        self._touch()
        if isinstance(self.state, (Idle, Notice)):
            self.state = Reading()

    def card_read(self, outcome: TapOutcome, uid: bytes) -> None:
        """A complete, consistent read of the card arrived from the reader service."""
        self._touch()
        self._card_present = True
        identification = self._service.identify(outcome)
        if isinstance(identification, Refused):
            _LOG.info("card refused: %s", identification.kind.value)
            self._end_member_session()
            self.state = Notice(identification.kind, identification.detail, self._online)
            return
        self._member_id = identification.member_id
        self._card_uid = identification.uid
        member = self._service.member_view(identification.member_id)
        if identification.completed_voucher is not None:
            self.state = VoucherIssued(member, identification.completed_voucher, self._online)
        elif identification.pending is not None:
            # Not the member screen: its points would look untouched and invite a second redemption.
            self.state = RedemptionAwaitingCard(member, identification.pending, self._online)
        else:
            self.state = MemberHome(member, self._online)

    def card_read_failed(self, reason: str) -> None:
        """The reader gave up on a card (pulled too soon, unreadable): back to where we were."""
        self._touch()
        if isinstance(self.state, Reading):
            self.state = Idle(self._store_name, self._online)

    def card_removed(self, uid: bytes) -> None:
        if self._card_uid == uid or self._card_uid is None:
            self._card_present = False
        if isinstance(self.state, Reading):
            self.state = Idle(self._store_name, self._online)

    def reader_health(self, ok: bool, detail: str = "") -> None:
        self._reader_ok = ok
        if not ok and isinstance(self.state, (Idle, Reading)):
            self.state = Notice(NoticeKind.READER_FAULT, detail, self._online)
        elif ok and isinstance(self.state, Notice) and self.state.kind is NoticeKind.READER_FAULT:
            self.state = Idle(self._store_name, self._online)

    def set_online(self, online: bool) -> None:
        if online == self._online:
            return
        self._online = online
        # Re-issue the current state with the new mark; member data is unchanged.
        if not isinstance(self.state, Reading):  # the one state that shows no online mark
            self.state = replace(self.state, online=online)

    # --- inputs from the touchscreen ---------------------------------------------------

    def handle(self, intent: Intent) -> None:
        self._touch()
        state = self.state
        if isinstance(intent, Done):
            self._end_member_session()
            self.state = Idle(self._store_name, self._online)
        elif isinstance(intent, (ToggleLocale, Scroll)):
            return  # the UI handles these itself
        elif isinstance(intent, OpenRewards) and isinstance(state, (MemberHome, VoucherIssued, MyVouchers)):
            self._show_rewards(state.member)
        elif isinstance(intent, OpenVouchers) and isinstance(state, (MemberHome, VoucherIssued, Rewards, WheelSpin)):
            self.state = MyVouchers(state.member, self._service.vouchers(state.member.member_id), self._online)
        elif isinstance(intent, OpenHistory) and isinstance(state, (MemberHome, VoucherIssued, MyVouchers)):
            # Read when opened, not kept up to date while shown: a session lasts a minute or two.
            history = self._service.points_history(state.member.member_id)
            self.state = MemberHistory(state.member, history, self._online)
        elif isinstance(intent, CheckIn) and isinstance(state, MemberHome):
            self._check_in(state.member)
        elif isinstance(intent, ClaimBirthdayGift) and isinstance(state, MemberHome):
            self._claim_gift(state.member)
        elif isinstance(intent, OpenWheel) and isinstance(state, MemberHome):
            self._show_wheel(state.member)
        elif isinstance(intent, SpinWheel) and isinstance(state, WheelSpin):
            self._spin(state, intent.spin_id)
        elif isinstance(intent, ChooseReward) and isinstance(state, Rewards):
            self._choose(state, intent.reward_id)
        elif isinstance(intent, ConfirmRedeem) and isinstance(state, Confirm):
            self._confirm(state, intent.intent_id)
        elif isinstance(intent, (PinDigit, PinDelete, PinSubmit)) and isinstance(state, PinEntry):
            self._pin_key(state, intent)
        elif isinstance(intent, Back):
            self._back(state)
        elif isinstance(state, Notice):
            self.state = Idle(self._store_name, self._online)
        else:
            _LOG.debug("intent %s ignored in %s", type(intent).__name__, type(state).__name__)

    # --- time ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Called by the loop; ends sessions and notices that nobody is looking at."""
        if isinstance(self.state, Idle):
            return
        idle_for = self._monotonic() - self._last_activity
        limit = NOTICE_SECONDS if isinstance(self.state, (Notice, Reading)) else self._timeout
        if isinstance(self.state, Notice) and self.state.kind is NoticeKind.READER_FAULT and not self._reader_ok:
            return  # stays up until the reader recovers
        state = self.state
        if isinstance(state, WheelSpin) and state.spun_at is not None and not state.revealed:
            if self._monotonic() - state.spun_at >= SPIN_SECONDS:
                self._reveal(state)
            return  # the wheel is turning: nobody is idle
        if isinstance(self.state, CheckedIn) and idle_for >= CHECKED_IN_SECONDS:
            # The confirmation is a moment, not a screen to dismiss; the session goes on from here.
            self.state = MemberHome(self.state.member, self._online)
            return
        if idle_for >= limit:
            _LOG.info("session ended by inactivity after %.0f s", idle_for)
            self._end_member_session()
            self.state = Idle(self._store_name, self._online)

    @property
    def member_id(self) -> str | None:
        return self._member_id

    # --- helpers ---------------------------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = self._monotonic()

    def _end_member_session(self) -> None:
        self._member_id = None
        self._card_uid = None
        self._pin.clear()

    def _show_rewards(self, member: MemberView) -> None:
        member = self._service.member_view(member.member_id)
        self.state = Rewards(member, self._service.reward_options(member.member_id), self._online)

    def _check_in(self, member: MemberView) -> None:
        try:
            result = self._service.check_in(member.member_id, bool(self._is_online()))
        except CheckinUnavailable as unavailable:
            _LOG.info("check-in not made: %s", unavailable)
            if unavailable.kind is not None:
                self.state = Notice(unavailable.kind, unavailable.detail, self._online)
                return
            # Already checked in today (at another kiosk, say): the screen will now say so.
            self.state = MemberHome(self._service.member_view(member.member_id), self._online)
            return
        self.state = CheckedIn(self._service.member_view(member.member_id), result, self._online)

    def _claim_gift(self, member: MemberView) -> None:
        try:
            voucher = self._service.claim_birthday_gift(member.member_id, bool(self._is_online()))
        except RedemptionRefused as refused:
            _LOG.info("birthday gift not claimed: %s", refused.detail)
            if refused.kind is NoticeKind.OFFLINE_LIMIT:
                self.state = Notice(refused.kind, refused.detail, self._online)
            else:  # claimed meanwhile (at another kiosk) or the window closed: the screen says so
                self.state = MemberHome(self._service.member_view(member.member_id), self._online)
            return
        self.state = VoucherIssued(self._service.member_view(member.member_id), voucher, self._online)

    def _show_wheel(self, member: MemberView) -> None:
        status = self._service.wheel_status(member.member_id, bool(self._is_online()))
        if status is None:  # the rules changed under the member screen
            self.state = MemberHome(self._service.member_view(member.member_id), self._online)
            return
        self.state = WheelSpin(member, status, self._new_intent_id(), self._online)

    def _spin(self, state: WheelSpin, spin_id: str) -> None:
        if spin_id != state.spin_id or (state.result is not None and not state.revealed):
            return  # a repeated tap: this spin was made and the wheel is turning
        member_id = state.member.member_id
        try:
            result = self._service.spin_wheel(
                spin_id, member_id, bool(self._is_online()), self._rng.randrange(DRAW_BOUND)
            )
        except SpinUnavailable as unavailable:
            _LOG.info("spin not made: %s", unavailable)
            if unavailable.kind is not None:
                self.state = Notice(unavailable.kind, unavailable.detail, self._online)
                return
            # The screen says why (points, limits) from a fresh status.
            self._show_wheel(self._service.member_view(member_id))
            return
        self.state = replace(state, result=result, spun_at=self._monotonic(), revealed=False)
        self._touch()

    def _reveal(self, state: WheelSpin) -> None:
        """The wheel stopped: the prize shows, with the member's points and the next spin's price."""
        member = self._service.member_view(state.member.member_id)
        status = self._service.wheel_status(member.member_id, bool(self._is_online())) or state.status
        # A new id for the next spin: a tap aimed at this one cannot spin again.
        self.state = replace(state, member=member, status=status, revealed=True, spin_id=self._new_intent_id())
        self._touch()  # the member watched the wheel: the inactivity clock starts now

    def _choose(self, state: Rewards, reward_id: str) -> None:
        option = next((o for o in state.options if o.reward_id == reward_id), None)
        if option is None or not option.available or not option.affordable:
            return  # greyed rewards are not choosable
        self.state = Confirm(
            state.member, option, state.member.points - option.cost_points, self._new_intent_id(), self._online
        )

    def _confirm(self, state: Confirm, intent_id: str) -> None:
        if intent_id != state.intent_id or state.busy or self._card_uid is None:
            return  # a stale or repeated confirm: the first one is being or has been carried out
        requirement = self._service.pin_requirement(state.member.member_id, state.option.reward_id)
        if requirement is not PinRequirement.NOT_NEEDED:
            blocked = {PinRequirement.LOCKED: PIN_LOCKED, PinRequirement.NOT_SET: PIN_NOT_SET}.get(requirement)
            self._show_keypad(state.member, state.option, intent_id, blocked=blocked)
            return
        self._redeem(state.member, state.option, intent_id, pin_ok=False)

    def _show_keypad(
        self,
        member: MemberView,
        option: RewardOption,
        intent_id: str,
        *,
        failures_left: int | None = None,
        blocked: str | None = None,
    ) -> None:
        """A keypad with a new order of keys (every keypad shown, after a wrong PIN too)."""
        self._pin.clear()
        keys = list(range(10))
        self._rng.shuffle(keys)
        self.state = PinEntry(
            member, option, intent_id, tuple(keys), 0, self._online, failures_left=failures_left, blocked=blocked
        )

    def _pin_key(self, state: PinEntry, intent: PinDigit | PinDelete | PinSubmit) -> None:
        if state.blocked is not None or self._card_uid is None:
            return
        if isinstance(intent, PinDigit):
            if len(self._pin) < PIN_MAX_DIGITS and 0 <= intent.digit <= 9:
                self._pin.append(str(intent.digit))
        elif isinstance(intent, PinDelete):
            if self._pin:
                self._pin.pop()
        elif len(self._pin) >= PIN_MIN_DIGITS:
            pin = "".join(self._pin)
            self._pin.clear()
            member_id = state.member.member_id
            check = self._service.check_pin(member_id, pin, self._card_uid, bool(self._is_online()))
            if check.ok:
                self._redeem(state.member, state.option, state.intent_id, pin_ok=True)
            elif check.locked:
                _LOG.info("PIN keypad: redemptions locked")
                self._show_keypad(state.member, state.option, state.intent_id, failures_left=0, blocked=PIN_LOCKED)
            elif check.failures_left == 0:  # HQ took the PIN away meanwhile
                self._show_keypad(state.member, state.option, state.intent_id, blocked=PIN_NOT_SET)
            else:
                self._show_keypad(state.member, state.option, state.intent_id, failures_left=check.failures_left)
            return
        # Only the count of digits reaches the screen (the dots).
        self.state = replace(state, entered=len(self._pin))

    def _redeem(self, member_view: MemberView, option: RewardOption, intent_id: str, *, pin_ok: bool) -> None:
        assert self._card_uid is not None
        online = bool(self._is_online())
        try:
            voucher = self._service.redeem(
                intent_id, member_view.member_id, option.reward_id, self._card_uid, online, pin_ok=pin_ok
            )
        except RedemptionRefused as refused:
            _LOG.info("redemption refused: %s", refused.kind.value)
            self.state = Notice(refused.kind, refused.detail, self._online)
            if refused.kind is not NoticeKind.CARD_REMOVED_TOO_SOON:
                self._end_member_session()
            return
        member = self._service.member_view(member_view.member_id)
        self.state = VoucherIssued(member, voucher, self._online)

    def _back(self, state: UiState) -> None:
        self._pin.clear()
        if isinstance(state, (Confirm, PinEntry)):
            self._show_rewards(state.member)
        elif isinstance(state, WheelSpin) and state.result is not None and not state.revealed:
            return  # the wheel is turning: its prize shows in a moment
        elif isinstance(state, (Rewards, MyVouchers, VoucherIssued, MemberHistory, CheckedIn, WheelSpin)):
            self.state = MemberHome(self._service.member_view(state.member.member_id), self._online)
        elif isinstance(state, Notice):
            self.state = Idle(self._store_name, self._online)
