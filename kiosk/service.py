"""The session's port onto the domain: card verdicts, ledger views, and redemptions with a card write.

A redemption is a small protocol across the ledger and the card (kiosk/cards/redeem_step.py):
prepare in the ledger (points reserved, the card counter to reach decided) -> write that counter
to the card -> confirm in the ledger (points deducted, voucher, outbox event, one transaction).
The member is told "done" only after the confirm. A card pulled before the write finished
leaves the redemption pending; the next tap of that card finishes it (never twice: the intent id
and the card counter both guard it). While one is pending the member is shown that, not the
member screen, and the ledger prepares no other redemption for the card.

The card write and the confirm after it (kiosk/cards/redeem_step.complete_redemption) run on the
reader's thread through the injected `run_on_card(job)`, which raises one of `faults.io` when the
card is no longer in the field. This module imports no driver.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.policy import offline_redemption_allowed
from kiosk.cards.ports import TagSession
from kiosk.cards.redeem_step import CardWriteRefused, RedemptionConfirmed, RedemptionPending, complete_redemption
from kiosk.cards.tap import TapOutcome
from kiosk.cards.verify import NOTICE_FOR, Verified
from kiosk.ledger import (
    BirthdayGiftRefused,
    CardDenied,
    CheckinRefused,
    InsufficientPoints,
    LedgerError,
    NoRules,
    OfflineLimitReached,
    RedemptionAlreadyPending,
    RewardUnavailable,
    UnknownMember,
    WheelRefused,
)
from kiosk.ledger.pin_lock import PinNotSet
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
from kiosk.session import (
    CheckinUnavailable,
    Identification,
    Identified,
    RedemptionRefused,
    Refused,
    SpinUnavailable,
)

_LOG = logging.getLogger(__name__)

T = TypeVar("T")


class RunOnCard(Protocol):
    """Runs `job` on the card still in the field (on the reader's thread); raises one of `faults.io` if it left."""

    def __call__(self, job: Callable[[TagSession], T]) -> T: ...


class KioskService:
    """Implements kiosk.session.SessionPort over the real ledger and card code."""

    def __init__(
        self,
        ledger: Any,
        keys: MasterKeys,
        faults: CardFaults,
        run_on_card: RunOnCard,
        now: Callable[[], dt.datetime],
        *,
        denylist_max_age: dt.timedelta,
        stale_denylist_max_points: int,
        clock_trusted: Callable[[], bool] = lambda: True,
    ):
        """`clock_trusted`: False while the wall clock is known to be wrong (app/clock_trust.py);
        offline redemptions are then refused, online ones go ahead (HQ reconciles them)."""
        self._ledger = ledger
        self._keys = keys
        self._faults = faults
        self._run_on_card = run_on_card
        self._now = now
        self._denylist_max_age = denylist_max_age
        self._stale_limit = stale_denylist_max_points
        self._clock_trusted = clock_trusted

    # --- identity -------------------------------------------------------------------------

    def identify(self, outcome: TapOutcome) -> Identification:
        """Turn the reader thread's `TapOutcome` (verdict + resumed redemption) into a session decision."""
        verdict = outcome.verdict
        if not isinstance(verdict, Verified):
            kind = NOTICE_FOR.get(type(verdict), NoticeKind.CARD_REJECTED)
            return Refused(kind, verdict.reason)
        if not self._ledger.member_exists(verdict.member_id):
            # A genuine card whose member HQ has not sent to this kiosk yet: nothing to show.
            _LOG.warning("genuine card for a member missing from the local replica")
            return Refused(NoticeKind.OUT_OF_SERVICE, "member_not_synced")
        if not verdict.known:
            # First time this kiosk sees the card: remember it so its counter is tracked from now.
            self._ledger.register_card(verdict.uid, verdict.member_id, verdict.issue_no)
        # Used at another kiosk since: continue from the card's counter (MAC-verified, so genuine).
        self._ledger.note_card_counter(verdict.uid, verdict.counter)
        # tap_job already tried to finish a redemption a pulled card still owed: a confirmed one is
        # news for the member (they were never told the first attempt succeeded), and one still
        # pending is what they must see instead of their account, or they would redeem again.
        resumed = outcome.resumed
        if isinstance(resumed, RedemptionConfirmed):
            return Identified(verdict.member_id, verdict.uid, completed_voucher=resumed.voucher)
        if isinstance(resumed, RedemptionPending):
            return Identified(verdict.member_id, verdict.uid, pending=self._still_pending(resumed, verdict.uid))
        return Identified(verdict.member_id, verdict.uid)

    def _still_pending(self, resumed: RedemptionPending, uid: bytes) -> PendingRedemptionView | None:
        """What to show of a redemption the tap could not finish; None once it is given up."""
        card = resumed.card
        if isinstance(card, CardWriteRefused) and card.final:
            # Another tap cannot finish it (e.g. the counter went to another redemption): release
            # its points now rather than blocking the card's next redemption until it goes stale.
            _LOG.warning("pending redemption abandoned: card refused it (%s)", card.reason)
            self._ledger.abandon_redemption(resumed.intent_id)
            return None
        view: PendingRedemptionView | None = self._ledger.pending_redemption_view(uid)
        return view

    # --- views ----------------------------------------------------------------------------

    def member_view(self, member_id: str) -> MemberView:
        return self._ledger.member_view(member_id)

    def reward_options(self, member_id: str) -> tuple[RewardOption, ...]:
        return self._ledger.reward_options(member_id)

    def vouchers(self, member_id: str) -> tuple[VoucherView, ...]:
        return self._ledger.vouchers(member_id)

    def points_history(self, member_id: str) -> tuple[HistoryItem, ...]:
        return self._ledger.points_history(member_id)

    # --- daily check-in ---------------------------------------------------------------------

    def check_in(self, member_id: str, online: bool) -> CheckinResult:
        try:
            result: CheckinResult = self._ledger.check_in(member_id, online=online)
        except CheckinRefused as exc:
            raise CheckinUnavailable(None, exc.reason) from None
        except OfflineLimitReached as exc:
            raise CheckinUnavailable(NoticeKind.OFFLINE_LIMIT, exc.limit) from None
        return result

    # --- birthday gift ----------------------------------------------------------------------

    def claim_birthday_gift(self, member_id: str, online: bool) -> VoucherView:
        try:
            voucher: VoucherView = self._ledger.claim_birthday_gift(uuid.uuid4().hex, member_id, online=online)
        except BirthdayGiftRefused as exc:
            raise RedemptionRefused(NoticeKind.REDEMPTION_FAILED, exc.reason) from None
        except OfflineLimitReached as exc:
            raise RedemptionRefused(NoticeKind.OFFLINE_LIMIT, exc.limit) from None
        return voucher

    # --- prize wheel ------------------------------------------------------------------------

    def wheel_status(self, member_id: str, online: bool) -> WheelStatus | None:
        status: WheelStatus | None = self._ledger.wheel_status(member_id, online=online)
        return status

    def spin_wheel(self, spin_id: str, member_id: str, online: bool, draw: int) -> SpinResult:
        try:
            result: SpinResult = self._ledger.spin_wheel(spin_id, member_id, online=online, draw=draw)
        except WheelRefused as exc:
            raise SpinUnavailable(None, exc.reason) from None
        except InsufficientPoints:
            raise SpinUnavailable(None, "points") from None
        except OfflineLimitReached as exc:
            raise SpinUnavailable(NoticeKind.OFFLINE_LIMIT, exc.limit) from None
        return result

    # --- PIN ------------------------------------------------------------------------------

    def pin_requirement(self, member_id: str, reward_id: str) -> PinRequirement:
        requirement: PinRequirement = self._ledger.pin_requirement(member_id, reward_id)
        return requirement

    def check_pin(self, member_id: str, pin: str, card_uid: bytes, online: bool) -> PinCheck:
        try:
            check: PinCheck = self._ledger.check_pin(member_id, pin, card_uid=card_uid, online=online)
        except PinNotSet:
            # HQ took the PIN away between confirm and OK: the keypad's "set one first" applies.
            return PinCheck(ok=False, locked=False, failures_left=0)
        return check

    # --- redemption -----------------------------------------------------------------------

    def redeem(
        self, intent_id: str, member_id: str, reward_id: str, card_uid: bytes, online: bool, *, pin_ok: bool = False
    ) -> VoucherView:
        """`pin_ok`: the member entered the right PIN for this redemption (the session's keypad)."""
        # Checked here as well as by the session: nothing reaches the ledger past a PIN the rules
        # ask for, or for a member whose redemptions are locked.
        try:
            requirement = self._ledger.pin_requirement(member_id, reward_id)
        except (UnknownMember, NoRules):
            requirement = PinRequirement.NOT_NEEDED  # prepare_redemption refuses these, as before
        if requirement is PinRequirement.LOCKED or (requirement is not PinRequirement.NOT_NEEDED and not pin_ok):
            raise RedemptionRefused(NoticeKind.REDEMPTION_FAILED, f"pin_{requirement.value}")
        try:
            pending = self._ledger.prepare_redemption(intent_id, member_id, reward_id, card_uid, online)
        except OfflineLimitReached as exc:
            raise RedemptionRefused(NoticeKind.OFFLINE_LIMIT, str(exc)) from None
        except CardDenied as exc:
            raise RedemptionRefused(NoticeKind.CARD_BLOCKED, str(exc)) from None
        except RedemptionAlreadyPending:
            # The card still owes an earlier redemption its write: that one is finished first.
            raise RedemptionRefused(NoticeKind.REDEMPTION_PENDING, "redemption_pending") from None
        except (InsufficientPoints, RewardUnavailable, UnknownMember) as exc:
            raise RedemptionRefused(NoticeKind.REDEMPTION_FAILED, type(exc).__name__) from None
        if pending.voucher_id is not None:
            return self._ledger.confirm_redemption(intent_id, pending.card_counter)  # already done: same voucher
        decision = offline_redemption_allowed(
            online=online,
            denylist_issued_at=self._ledger.denylist_issued_at(),
            now=self._now(),
            max_age=self._denylist_max_age,
            small_limit_points=self._stale_limit,
            points=pending.cost_points,
            clock_trusted=online or self._clock_trusted(),
        )
        if not decision.allowed:
            self._ledger.abandon_redemption(intent_id)
            kind = NoticeKind.CLOCK_UNTRUSTED if decision.reason == "clock_untrusted" else NoticeKind.OFFLINE_LIMIT
            raise RedemptionRefused(kind, decision.reason)
        return self._write_and_confirm(intent_id, card_uid, member_id, pending.card_counter)

    def _write_and_confirm(self, intent_id: str, card_uid: bytes, member_id: str, counter: int) -> VoucherView:
        # The card step and the confirm run together on the reader thread (the ledger is
        # thread-safe), exactly as tap_job finishes a pending redemption on a re-tap.
        def job(session: Any) -> RedemptionConfirmed | RedemptionPending:
            return complete_redemption(
                session,
                self._keys,
                self._faults,
                self._ledger,
                intent_id=intent_id,
                card_uid=card_uid,
                member_id=member_id,
                target_counter=counter,
            )

        try:
            result = self._run_on_card(job)
        except self._faults.io as exc:
            # The card is not in the field: nothing was written, the redemption waits for a tap.
            raise RedemptionRefused(NoticeKind.CARD_REMOVED_TOO_SOON, type(exc).__name__) from None
        except LedgerError as exc:
            _LOG.error("confirm after card write failed: %s", exc)
            raise RedemptionRefused(NoticeKind.REDEMPTION_FAILED, type(exc).__name__) from None
        if isinstance(result, RedemptionConfirmed):
            return result.voucher
        card = result.card
        if isinstance(card, CardWriteRefused):
            if card.final:
                self._ledger.abandon_redemption(intent_id)
            raise RedemptionRefused(NoticeKind.REDEMPTION_FAILED, card.reason)
        raise RedemptionRefused(NoticeKind.CARD_REMOVED_TOO_SOON, card.reason)
