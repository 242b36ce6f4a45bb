"""Verification on every tap: is this a genuine, current, unblocked member card?

`judge(reading, ...)` is a pure decision over what the card said and what the ledger knows;
`verify_tap(session, ...)` reads the card, judges, then records what the verdict requires
(security event, local denial) in the ledger. Verdicts map onto the kiosk's notices:

    Verified        -> member screen
    NotAMemberCard  -> "not a member card"       (blank, foreign, NTAG sticker, other fleet)
                       + security event if the UID is a member's: blank or behind unknown keys,
                       it is most likely a copy of that UID onto a magic card (rate-limited)
    Rejected        -> "card rejected"            + security event (MAC/UID mismatch, forged copy)
    Rollback        -> "card rejected"            + local denial + security event (old image/clone)
    Blocked         -> "card blocked, see staff"  + security event; no member data at all
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.cards.alerts import EventRateLimit
from kiosk.cards.cardio import SectorKeying
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.ports import CardRegistry, CardState, TagSession
from kiosk.cards.reading import CardReading, read_card
from kiosk.cards.record import CopyStatus
from kiosk.cards.redact import redact_uid
from kiosk.model import NoticeKind

_LOG = logging.getLogger(__name__)

# Security event kinds sent to HQ (sync carries them; docs/card-layout.md lists them).
EVENT_REJECTED = "card_rejected"
EVENT_ROLLBACK = "card_rollback"
EVENT_BLOCKED_ATTEMPT = "blocked_card_presented"
EVENT_UID_CLONE = "uid_clone_suspected"

#: NotAMemberCard reasons that, for a UID registered to a member, point to a clone of that UID:
#: the genuine card always holds a record behind its own diversified keys.
_CLONE_SIGNS = {"no_record": "blank", "unknown_keys": "unknown_keys"}


@dataclass(frozen=True)
class Verified:
    uid: bytes
    member_id: str
    issue_no: int
    counter: int
    copy: int  # which record copy was current (0 or 1)
    known: bool  # False: genuine card this kiosk's ledger has no entry for yet
    pending: Any | None = None  # a redemption waiting for this card's write (finish it first)


@dataclass(frozen=True)
class NotAMemberCard:
    reason: str  # "not_mifare_classic_1k", "uid_length", "unknown_keys", "no_record"


@dataclass(frozen=True)
class Rejected:
    reason: str  # "mac_mismatch", "uid_mismatch", "malformed:<why>", "transport_keys", "registry_mismatch"


@dataclass(frozen=True)
class Rollback:
    card_counter: int
    ledger_counter: int

    @property
    def reason(self) -> str:
        """Empty: the ROLLBACK notice says it all, and the counters go to the security event only."""
        return ""


@dataclass(frozen=True)
class Blocked:
    reason: str  # from the deny-list or card status: "lost", "replaced", "blocked", "rollback", ...


Verdict = Verified | NotAMemberCard | Rejected | Rollback | Blocked

NOTICE_FOR: dict[type, NoticeKind] = {
    NotAMemberCard: NoticeKind.NOT_A_MEMBER_CARD,
    Rejected: NoticeKind.CARD_REJECTED,
    Rollback: NoticeKind.CARD_REJECTED,
    Blocked: NoticeKind.CARD_BLOCKED,
}


def judge(reading: CardReading, state: CardState | None, pending: Any | None = None) -> Verdict:
    """Decide from the card's contents and the ledger's entry for its UID. No side effects."""
    if reading.unsupported_reason:
        return NotAMemberCard(reading.unsupported_reason)
    best = reading.best()
    if best is None:
        return _without_genuine_copy(reading)
    chosen, record = best
    if state is None:
        return Verified(reading.uid, record.member_id, record.issue_no, record.counter, chosen.copy, False, pending)
    if (state.member_id, state.issue_no) != (record.member_id, record.issue_no):
        return Rejected("registry_mismatch")
    if record.counter < state.last_counter:
        return Rollback(record.counter, state.last_counter)
    return Verified(reading.uid, record.member_id, record.issue_no, record.counter, chosen.copy, True, pending)


def _without_genuine_copy(reading: CardReading) -> Verdict:
    checks = [(c.keying, c.check) for c in reading.copies if c.check is not None]
    for keying, check in checks:
        if check.status is CopyStatus.VALID and keying is not SectorKeying.DIVERSIFIED:
            # A record that verifies, behind keys a genuine card never has: a copy onto a magic card.
            return Rejected("transport_keys")
    for _, check in checks:
        if check.status in (CopyStatus.UID_MISMATCH, CopyStatus.BAD_MAC):
            return Rejected(check.reason)
    for _, check in checks:
        if check.status is CopyStatus.MALFORMED:
            return Rejected(f"malformed:{check.reason}")
    if not checks:
        return NotAMemberCard("unknown_keys")
    return NotAMemberCard("no_record")


def verify_tap(
    session: TagSession,
    keys: MasterKeys,
    registry: CardRegistry,
    faults: CardFaults,
    *,
    clone_alerts: EventRateLimit | None = None,
) -> Verdict:
    """Read-only check of a presented card, then the ledger side effects its verdict calls for.

    Card I/O errors (`faults.io`) propagate before anything is recorded, so a retry is harmless.
    `clone_alerts` limits how often a suspected UID clone is reported (None: every time); the
    reader's tap job passes one that lives as long as the reader.
    """
    uid = bytes(session.uid)
    denied = registry.denial(uid)
    if denied is not None:
        # Checked before reading: a blocked card shows nothing, whatever it holds.
        registry.record_security_event(EVENT_BLOCKED_ATTEMPT, uid, {"reason": denied})
        _LOG.warning("blocked card %s presented (%s)", redact_uid(uid), denied)
        return Blocked(denied)
    reading = read_card(session, keys, faults)
    state = registry.card_state(uid)
    pending = registry.pending_redemption_for_card(uid) if reading.best() is not None else None
    verdict = judge(reading, state, pending)
    if isinstance(verdict, Rejected):
        registry.record_security_event(EVENT_REJECTED, uid, {"reason": verdict.reason, **_copy_detail(reading)})
        _LOG.warning("card %s rejected: %s", redact_uid(uid), verdict.reason)
    elif isinstance(verdict, Rollback):
        # An older image than the ledger has seen written: a restored dump or a clone. Deny the UID
        # locally at once (works offline) and tell HQ, who will replace the member's card.
        registry.deny_card(uid, "rollback", "local")
        registry.record_security_event(
            EVENT_ROLLBACK, uid, {"card_counter": verdict.card_counter, "ledger_counter": verdict.ledger_counter}
        )
        _LOG.warning(
            "card %s rolled back: counter %d < %d", redact_uid(uid), verdict.card_counter, verdict.ledger_counter
        )
    elif isinstance(verdict, NotAMemberCard) and verdict.reason in _CLONE_SIGNS and state is not None:
        # Only a UID the ledger knows as a member's: an unknown blank card is just not ours.
        _report_clone_suspect(registry, uid, _CLONE_SIGNS[verdict.reason], clone_alerts)
    return verdict


def _report_clone_suspect(registry: CardRegistry, uid: bytes, reason: str, limit: EventRateLimit | None) -> None:
    held_back = limit.allow(uid) if limit is not None else 0
    if held_back is None:
        _LOG.info("member card %s presented %s again; security event held back", redact_uid(uid), reason)
        return
    registry.record_security_event(EVENT_UID_CLONE, uid, {"reason": reason, "suppressed_since_last": held_back})
    _LOG.warning("member card %s presented %s: a copy of its UID is suspected", redact_uid(uid), reason)


def _copy_detail(reading: CardReading) -> dict[str, Any]:
    return {
        "copies": [
            {
                "copy": c.copy,
                "keying": c.keying.value,
                "status": c.check.status.value if c.check else "unreadable",
                "why": c.check.reason if c.check else "",
            }
            for c in reading.copies
        ]
    }
