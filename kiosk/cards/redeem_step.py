"""The card-write step of a redemption: move the card's counter to the value the ledger prepared.

    ledger.prepare_redemption(...)      -> pending, with the counter the card must reach (n)
    write_redemption_counter(...)       -> the card now reads n (written to copy n % 2, read back)
    ledger.confirm_redemption(id, n)    -> voucher; only now is the member told

The step is idempotent: a card that already reads n (the write landed but its answer was lost)
is not written again, and a card still reading n - 1 is written. Anything else is refused, so
a counter never moves backwards or skips. "Already at n" counts as this redemption's own write
only if the ledger says n belongs to it (`card_counter_owner`): a card put to n by another
redemption would otherwise confirm two redemptions with one write. If the card leaves mid-write
the redemption stays pending; `resume_on_tap` finishes it the next time the card is presented.
Pulled at any moment, the card holds either the old copy or both, never a mix: a torn copy
fails its MAC and the other copy (n - 1) is still intact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.cards import layout
from kiosk.cards.cardio import read_copy, write_copy
from kiosk.cards.errors import CardFaults, CardWriteVerifyFailed
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.keys import sector_keys
from kiosk.cards.ports import RedemptionLedger, TagSession
from kiosk.cards.reading import read_card
from kiosk.cards.record import CopyStatus, check_copy, encode_record

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardWritten:
    counter: int
    copy: int
    already: bool  # True: the card already held this counter (an earlier write had landed)


@dataclass(frozen=True)
class CardWriteInterrupted:
    """The card left (or answered garbage) during the step; the redemption stays pending."""

    reason: str


@dataclass(frozen=True)
class CardWriteRefused:
    """The card is not the one, or not in the state, the prepared redemption expects."""

    # "other_card", "no_genuine_record", "other_member", "counter_ahead", "counter_behind",
    # "counter_taken" (the card reads n, but n belongs to another redemption)
    reason: str

    @property
    def final(self) -> bool:
        """True when presenting this card again cannot help: the app should abandon the intent
        (ledger.abandon_redemption). "other_card"/"no_genuine_record" may still be resolved by
        the right card."""
        return self.reason in ("other_member", "counter_ahead", "counter_behind", "counter_taken")


CardStepResult = CardWritten | CardWriteInterrupted | CardWriteRefused


def write_redemption_counter(
    session: TagSession,
    keys: MasterKeys,
    faults: CardFaults,
    ledger: RedemptionLedger,
    *,
    intent_id: str,
    card_uid: bytes,
    member_id: str,
    target_counter: int,
) -> CardStepResult:
    """Bring the card to `target_counter` for redemption `intent_id`; never raises for card I/O
    (see module docstring)."""
    try:
        return _write(session, keys, faults, ledger, intent_id, bytes(card_uid), member_id, target_counter)
    except faults.io as exc:
        _LOG.info("card write interrupted: %s", type(exc).__name__)
        return CardWriteInterrupted(type(exc).__name__)
    except CardWriteVerifyFailed as exc:
        return CardWriteInterrupted(str(exc))


def _write(
    session: TagSession,
    keys: MasterKeys,
    faults: CardFaults,
    ledger: RedemptionLedger,
    intent_id: str,
    uid: bytes,
    member_id: str,
    target: int,
) -> CardStepResult:
    if bytes(session.uid) != uid:
        return CardWriteRefused("other_card")
    best = read_card(session, keys, faults).best()
    if best is None:
        return CardWriteRefused("no_genuine_record")
    current_copy, record = best
    if record.member_id != member_id:
        return CardWriteRefused("other_member")
    if record.counter == target:
        # Our own earlier write that landed unacknowledged, or another redemption's: the card
        # cannot say which, the ledger can.
        owner = ledger.card_counter_owner(uid, member_id, target)
        if owner != intent_id:
            _LOG.warning("card already at counter %d, which belongs to %s, not to %s", target, owner, intent_id)
            return CardWriteRefused("counter_taken")
        return CardWritten(target, current_copy.copy, already=True)
    if record.counter > target:
        return CardWriteRefused("counter_ahead")
    if record.counter != target - 1:
        return CardWriteRefused("counter_behind")
    new = record.with_counter(target)
    copy = layout.copy_for_counter(target)
    sector = layout.copy_sector(copy)
    session.authenticate(layout.trailer_block(sector), sector_keys(keys, uid, sector).key_b, "B")
    write_copy(session, sector, encode_record(new, sector, keys))
    # Read back before anyone is told: a write the card acknowledged but did not keep is a failure.
    check = check_copy(read_copy(session, sector), uid, sector, keys)
    if check.status is not CopyStatus.VALID or check.record != new:
        raise CardWriteVerifyFailed("record read back differs from the record written")
    return CardWritten(target, copy, already=False)


@dataclass(frozen=True)
class RedemptionConfirmed:
    voucher: Any  # kiosk.model.VoucherView from the ledger
    card: CardWritten


@dataclass(frozen=True)
class RedemptionPending:
    """Not confirmed: the card must be presented again (or the pending intent cancelled)."""

    intent_id: str
    card: CardWriteInterrupted | CardWriteRefused


def complete_redemption(
    session: TagSession,
    keys: MasterKeys,
    faults: CardFaults,
    ledger: RedemptionLedger,
    *,
    intent_id: str,
    card_uid: bytes,
    member_id: str,
    target_counter: int,
) -> RedemptionConfirmed | RedemptionPending:
    """Card write, then `ledger.confirm_redemption(intent_id, counter)` only on success."""
    result = write_redemption_counter(
        session,
        keys,
        faults,
        ledger,
        intent_id=intent_id,
        card_uid=card_uid,
        member_id=member_id,
        target_counter=target_counter,
    )
    if isinstance(result, CardWritten):
        return RedemptionConfirmed(ledger.confirm_redemption(intent_id, result.counter), result)
    return RedemptionPending(intent_id, result)


def resume_on_tap(
    session: TagSession, keys: MasterKeys, faults: CardFaults, ledger: RedemptionLedger, verified: Any
) -> RedemptionConfirmed | RedemptionPending | None:
    """Finish the redemption a verified card still owes (`Verified.pending`); None if there is none.

    Call it right after `verify_tap` returned Verified with `pending` set, with the card still in
    the field: the member was never told the earlier attempt succeeded, so completing it now is
    the first and only confirmation.
    """
    pending = getattr(verified, "pending", None)
    if pending is None or pending.card_counter is None:
        return None
    return complete_redemption(
        session,
        keys,
        faults,
        ledger,
        intent_id=pending.intent_id,
        card_uid=verified.uid,
        member_id=pending.member_id,
        target_counter=pending.card_counter,
    )
