"""A PIN before spending, as the kiosk's ledger keeps it: HQ's hash and lock, this kiosk's failures.

Whether a redemption needs the PIN is the rules' `pin` policy (kiosk.ledger.rules.PinPolicy).
HQ sends each member's `pin_hash` (kiosk.ledger.pin_kdf; absent: no PIN set) and `pin_locked`
in its member entries. The kiosk counts consecutive wrong PINs per member (`pin_failures`); the
`max_failures`-th locks the member's redemptions here at once and, in the same transaction, puts a
`pin_locked` event in the outbox, so HQ locks the member for every kiosk. A right PIN resets
the count. Wrong PINs are not sent one by one: HQ needs the lock, not each slip of a finger.

Who decides "locked": this kiosk's own lock holds until a member update acknowledges its
`pin_locked` event (an update written before HQ had the event must not lift it); from then on
HQ's `pin_locked` does, so an operator's unlock at HQ (`POST /v1/members/{id}/pin/unlock`)
reaches every kiosk. A new PIN from HQ, or HQ lifting a lock, starts the count again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.ledger.db import ts
from kiosk.ledger.errors import InvalidSnapshot, LedgerError
from kiosk.ledger.pin_kdf import InvalidPinHash, parse_pin_hash
from kiosk.ledger.rules import PinPolicy
from kiosk.model import PinCheck, PinRequirement

#: The outbox event type that tells HQ a member's redemptions locked here.
LOCK_EVENT = "pin_locked"


class PinNotSet(LedgerError):
    """A PIN was checked for a member HQ has set none for."""


@dataclass(frozen=True)
class MemberPin:
    """HQ's PIN fields of one member entry, validated."""

    member_id: str
    pin_hash: str | None
    locked: bool


def entry_pin(member: Mapping[str, Any], fail: Callable[[str], InvalidSnapshot]) -> MemberPin:
    """`pin_hash` and `pin_locked` of a member entry; `fail(message)` makes the snapshot's error."""
    pin_hash = member.get("pin_hash")
    if pin_hash is not None:
        try:
            parse_pin_hash(pin_hash)
        except InvalidPinHash as exc:
            raise fail(f"pin_hash: {exc}") from None
    locked = member.get("pin_locked", False)
    if not isinstance(locked, bool):
        raise fail(f"pin_locked must be true or false, got {locked!r}")
    return MemberPin(str(member["member_id"]), pin_hash, locked)


def previous(conn: sqlite3.Connection) -> dict[str, tuple[str | None, bool]]:
    """Every member's PIN fields before a snapshot replaces them (read before its deletes)."""
    return {
        row[0]: (row[1], bool(row[2])) for row in conn.execute("SELECT member_id, pin_hash, pin_locked FROM members")
    }


def apply_snapshot(
    conn: sqlite3.Connection,
    pins: Iterable[MemberPin],
    before: Mapping[str, tuple[str | None, bool]],
    acknowledged_event_ids: Iterable[str],
) -> None:
    """Store HQ's PIN fields of the members a snapshot lists (call in its transaction, after the
    member rows are written)."""
    # HQ has this kiosk's lock events now: its pin_locked speaks for them from here on.
    conn.executemany(
        "DELETE FROM pin_failures WHERE lock_event_id = ?", [(event_id,) for event_id in acknowledged_event_ids]
    )
    rows = []
    for pin in pins:
        old_hash, old_locked = before.get(pin.member_id, (None, False))
        if old_hash != pin.pin_hash or (old_locked and not pin.locked):
            # A new PIN, or HQ lifted a lock: count from zero, except under a lock of this kiosk's
            # that HQ has not acknowledged yet.
            conn.execute("DELETE FROM pin_failures WHERE member_id = ? AND lock_event_id IS NULL", (pin.member_id,))
        rows.append((pin.pin_hash, int(pin.locked), pin.member_id))
    conn.executemany("UPDATE members SET pin_hash = ?, pin_locked = ? WHERE member_id = ?", rows)


def state(conn: sqlite3.Connection, member_id: str) -> tuple[str | None, bool, int]:
    """(HQ's hash, locked here or at HQ, this kiosk's consecutive failures) for a member."""
    row = conn.execute(
        "SELECT m.pin_hash, m.pin_locked, f.failures, f.locked_at FROM members m"
        " LEFT JOIN pin_failures f ON f.member_id = m.member_id WHERE m.member_id = ?",
        (member_id,),
    ).fetchone()
    if row is None:
        return None, False, 0
    return row[0], bool(row[1]) or row[3] is not None, int(row[2] or 0)


def requirement(
    conn: sqlite3.Connection, policy: PinPolicy, member_id: str, tier_code: str, cost: int
) -> PinRequirement:
    pin_hash, locked, _ = state(conn, member_id)
    if locked:
        # Locked means no redemption at all, asked for or not: the card may be in a thief's hand.
        return PinRequirement.LOCKED
    if not policy.asks(tier_code, cost):
        return PinRequirement.NOT_NEEDED
    return PinRequirement.NEEDED if pin_hash is not None else PinRequirement.NOT_SET


def record(
    conn: sqlite3.Connection,
    member_id: str,
    ok: bool,
    max_failures: int,
    now: dt.datetime,
    lock_event: Callable[[int], str],
) -> PinCheck:
    """Count one PIN entry (call in a transaction). `lock_event(failures)` appends the outbox
    event for a lock and returns its id; it is called once, by the entry that locks."""
    _, locked, failures = state(conn, member_id)
    if locked:
        return PinCheck(ok=False, locked=True, failures_left=0)
    if ok:
        conn.execute("DELETE FROM pin_failures WHERE member_id = ?", (member_id,))
        return PinCheck(ok=True, locked=False, failures_left=max_failures)
    failures += 1
    lock_at, event_id = (ts(now), lock_event(failures)) if failures >= max_failures else (None, None)
    conn.execute(
        "INSERT INTO pin_failures(member_id, failures, last_failure_at, locked_at, lock_event_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(member_id) DO UPDATE SET failures = excluded.failures,"
        " last_failure_at = excluded.last_failure_at, locked_at = excluded.locked_at,"
        " lock_event_id = excluded.lock_event_id",
        (member_id, failures, ts(now), lock_at, event_id),
    )
    return PinCheck(ok=False, locked=lock_at is not None, failures_left=max(0, max_failures - failures))
