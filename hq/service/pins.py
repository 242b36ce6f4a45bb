"""A PIN before spending, at HQ: the service desk sets a member's PIN, kiosks' locks, operators' unlocks.

HQ keeps only the salted scrypt hash (kiosk.ledger.pin_kdf: the format kiosks verify) and sends
that hash, never the PIN, in every member entry (hq/service/kiosk_entry.py), with `pin_locked`
while the member's redemptions are locked. A kiosk locks a member itself after the rules'
`max_failures` wrong PINs and tells HQ with a `pin_locked` event; HQ records it, so every kiosk
locks the member with the next member update, until an operator unlocks (`unlock`). Setting a
new PIN at the desk lifts a lock too: the member proved who they are there.

Each change is an entry (`pin_set`, `pin_locked`, `pin_unlocked`; no points move) naming who,
never the PIN or its hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError
from hq.service.feedback import record_change
from hq.service.members import locked_member
from hq.store import tables as t
from hq.store.upsert import insert_ignore
from kiosk.ledger.pin_kdf import hash_pin, valid_pin


class InvalidPin(HqServiceError, ValueError):
    """A PIN that is not 4 to 6 digits."""

    code = "invalid_pin"


def _entry(conn: Connection, member_id: str, kind: str, ref: str, at: dt.datetime, detail: dict[str, Any]) -> None:
    # No programme decides a PIN: rules_version 0 says so (a points entry always names one).
    conn.execute(
        t.entries.insert().values(member_id=member_id, kind=kind, ref=ref[:200], rules_version=0, at=at, detail=detail)
    )


def _row(conn: Connection, member_id: str) -> Any:
    insert_ignore(conn, t.member_pins, {"member_id": member_id})
    return conn.execute(sa.select(t.member_pins).where(t.member_pins.c.member_id == member_id)).one()


def set_pin(conn: Connection, member_id: str, pin: str, *, by: str, now: dt.datetime) -> None:
    """Store the hash of a new PIN (and lift any lock); every kiosk gets the hash."""
    if not valid_pin(pin):
        raise InvalidPin("a PIN is 4 to 6 digits")
    locked_member(conn, member_id)  # serialises with the member's other changes; NotFound if unknown
    was_locked = _row(conn, member_id).locked_at is not None
    conn.execute(
        t.member_pins.update()
        .where(t.member_pins.c.member_id == member_id)
        .values(pin_hash=hash_pin(pin), set_at=now, locked_at=None, locked_by=None, unlocked_at=now)
    )
    _entry(conn, member_id, "pin_set", f"pin:{by}", now, {"by": by, "unlocked": was_locked})
    record_change(conn, member_id, now)


def unlock(conn: Connection, member_id: str, *, by: str, now: dt.datetime) -> bool:
    """Lift the lock on the member's redemptions; False (no change) when there was none."""
    locked_member(conn, member_id)
    if _row(conn, member_id).locked_at is None:
        return False
    conn.execute(
        t.member_pins.update()
        .where(t.member_pins.c.member_id == member_id)
        .values(locked_at=None, locked_by=None, unlocked_at=now)
    )
    _entry(conn, member_id, "pin_unlocked", f"pin:{by}", now, {"by": by})
    record_change(conn, member_id, now)
    return True


def lock_from_kiosk(
    conn: Connection, member_id: str, *, device_id: str, event_id: str, made_at: dt.datetime, now: dt.datetime
) -> str:
    """A kiosk's `pin_locked` event: lock the member fleet-wide. The outcome for the event log:
    `locked`, `already_locked`, or `stale` for one made before the operator's last unlock or the
    last new PIN (its wrong PINs were tried against a PIN the desk has replaced since)."""
    locked_member(conn, member_id)
    row = _row(conn, member_id)
    source = f"{device_id}/{event_id}"
    if row.unlocked_at is not None and made_at < row.unlocked_at:
        outcome = "stale"
    elif row.locked_at is not None:
        outcome = "already_locked"
    else:
        conn.execute(
            t.member_pins.update()
            .where(t.member_pins.c.member_id == member_id)
            .values(locked_at=made_at, locked_by=source)
        )
        _entry(conn, member_id, "pin_locked", source, made_at, {"device_id": device_id, "event_id": event_id})
        outcome = "locked"
    # Always, so the kiosk's next update acknowledges the event: from then on HQ's flag decides there.
    record_change(conn, member_id, now, event_id)
    return outcome


def pin_state(conn: Connection, member_id: str) -> tuple[bool, bool]:
    """(a PIN is set, redemptions are locked) for a member (False, False when nothing was ever set)."""
    row = conn.execute(
        sa.select(t.member_pins.c.pin_hash, t.member_pins.c.locked_at).where(t.member_pins.c.member_id == member_id)
    ).first()
    return (row is not None and row.pin_hash is not None, row is not None and row.locked_at is not None)
