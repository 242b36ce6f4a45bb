"""Card records and the deny-list, as stored in the ledger.

The card-security code (kiosk/cards) decides whether a presented card is genuine; this module only
keeps what it needs: each card's member, issue number, status and the last transaction counter the
ledger saw written to it, plus the deny-list (HQ's entries and the kiosk's own local denials).
A card is denied when it is on the deny-list or its status is not "active"; a lost card therefore
stops working here even while the kiosk is offline, as soon as either HQ's list or snapshot says so.

Deny-list entries from HQ are `{"uid": "<hex>", "reason": "lost"}` mappings (uid may also be bytes)
or `(uid, reason)` pairs. A full list replaces every HQ entry; local denials (source "local", e.g.
a detected rollback) stay until HQ's list removes that uid explicitly.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.ledger.db import from_ts, get_meta, set_meta, ts
from kiosk.ledger.errors import DenylistGap, InvalidDenylist, StaleVersion

CARD_STATUSES = ("active", "lost", "replaced", "blocked")


@dataclass(frozen=True)
class CardRecordState:
    uid: bytes
    member_id: str
    issue_no: int
    status: str  # active / lost / replaced / blocked
    last_counter: int


def uid_bytes(value: Any, where: str = "uid") -> bytes:
    """A card UID from bytes or hex text; InvalidDenylist if it is neither 4, 7 nor 10 bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    elif isinstance(value, str):
        try:
            raw = bytes.fromhex(value.replace(":", "").replace(" ", ""))
        except ValueError:
            raise InvalidDenylist(f"{where}: not hex: {value!r}") from None
    else:
        raise InvalidDenylist(f"{where}: must be bytes or hex text, got {type(value).__name__}")
    if len(raw) not in (4, 7, 10):
        raise InvalidDenylist(f"{where}: a card UID has 4, 7 or 10 bytes, got {len(raw)}")
    return raw


def card_state(conn: sqlite3.Connection, uid: bytes) -> CardRecordState | None:
    row = conn.execute(
        "SELECT uid, member_id, issue_no, status, last_counter FROM cards WHERE uid = ?", (bytes(uid),)
    ).fetchone()
    return CardRecordState(bytes(row[0]), row[1], row[2], row[3], row[4]) if row else None


def upsert_card(
    conn: sqlite3.Connection,
    uid: bytes,
    member_id: str,
    issue_no: int,
    status: str,
    now: dt.datetime,
    last_counter: int | None = None,
) -> None:
    """Insert or update a card; the counter only ever moves forward."""
    if status not in CARD_STATUSES:
        raise ValueError(f"card status must be one of {', '.join(CARD_STATUSES)}, got {status!r}")
    conn.execute(
        """
        INSERT INTO cards(uid, member_id, issue_no, status, last_counter, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(uid) DO UPDATE SET member_id = excluded.member_id, issue_no = excluded.issue_no,
            status = excluded.status, last_counter = MAX(cards.last_counter, excluded.last_counter),
            updated_at = excluded.updated_at
        """,
        (bytes(uid), member_id, issue_no, status, last_counter or 0, ts(now)),
    )


def record_counter(conn: sqlite3.Connection, uid: bytes, counter: int, now: dt.datetime) -> None:
    """Raise the card's last counter to `counter`; a counter that is not higher changes nothing.

    Every tap reports the card's counter and it has almost always not moved: matching no row then
    leaves the transaction with no page to write, so its commit costs no fsync (a tap would
    otherwise wait on the disk before its member screen, and wear a Pi's SD card).
    """
    conn.execute(
        "UPDATE cards SET last_counter = ?, updated_at = ? WHERE uid = ? AND last_counter < ?",
        (counter, ts(now), bytes(uid), counter),
    )


def denial(conn: sqlite3.Connection, uid: bytes) -> str | None:
    """Why the card may not be used, or None: deny-list reason first, then a non-active status."""
    row = conn.execute("SELECT reason FROM denylist WHERE uid = ?", (bytes(uid),)).fetchone()
    if row:
        return row[0]
    state = card_state(conn, uid)
    if state is not None and state.status != "active":
        return state.status
    return None


def add_denial(conn: sqlite3.Connection, uid: bytes, reason: str, source: str, now: dt.datetime) -> None:
    conn.execute(
        "INSERT INTO denylist(uid, reason, source, added_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(uid) DO UPDATE SET reason = excluded.reason, source = excluded.source",
        (bytes(uid), reason, source, ts(now)),
    )


def _entries(entries: Iterable[Any], where: str) -> list[tuple[bytes, str]]:
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict):
            uid, reason = entry.get("uid"), entry.get("reason")
        elif isinstance(entry, (tuple, list)) and len(entry) == 2:
            uid, reason = entry
        else:
            raise InvalidDenylist(f"{where}[{i}]: must be {{uid, reason}} or a (uid, reason) pair")
        if not isinstance(reason, str) or not reason:
            raise InvalidDenylist(f"{where}[{i}].reason: must be a non-empty string, got {reason!r}")
        out.append((uid_bytes(uid, f"{where}[{i}].uid"), reason))
    return out


def _check_version(conn: sqlite3.Connection, version: Any, issued_at: dt.datetime) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidDenylist(f"deny-list version must be a positive integer, got {version!r}")
    if not isinstance(issued_at, dt.datetime) or issued_at.tzinfo is None:
        raise InvalidDenylist("deny-list issued_at must be a timezone-aware datetime")
    current = denylist_version(conn)
    if current is not None and version <= current:
        raise StaleVersion(f"deny-list version {version} is not newer than the applied version {current}")


def apply_full(
    conn: sqlite3.Connection, version: int, entries: Iterable[Any], issued_at: dt.datetime, now: dt.datetime
) -> int:
    """Replace all HQ entries (call inside a transaction). Returns the number of entries."""
    _check_version(conn, version, issued_at)
    parsed = _entries(entries, "entries")
    conn.execute("DELETE FROM denylist WHERE source = 'hq'")
    for uid, reason in parsed:
        add_denial(conn, uid, reason, "hq", now)
    _set_version(conn, version, issued_at)
    return len(parsed)


def apply_delta(
    conn: sqlite3.Connection,
    version: int,
    base_version: int,
    added: Iterable[Any],
    removed: Iterable[Any],
    issued_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Apply HQ's changes since `base_version` (call inside a transaction)."""
    _check_version(conn, version, issued_at)
    current = denylist_version(conn)
    if current != base_version:
        raise DenylistGap(
            f"deny-list delta {base_version}->{version} does not apply to held version {current}; a full list is needed"
        )
    parsed = _entries(added, "added")
    gone = [uid_bytes(u, f"removed[{i}]") for i, u in enumerate(removed)]
    for uid in gone:
        conn.execute("DELETE FROM denylist WHERE uid = ?", (uid,))
    for uid, reason in parsed:
        add_denial(conn, uid, reason, "hq", now)
    _set_version(conn, version, issued_at)


def _set_version(conn: sqlite3.Connection, version: int, issued_at: dt.datetime) -> None:
    set_meta(conn, "denylist_version", str(version))
    set_meta(conn, "denylist_issued_at", ts(issued_at))


def denylist_version(conn: sqlite3.Connection) -> int | None:
    value = get_meta(conn, "denylist_version")
    return int(value) if value is not None else None


def denylist_issued_at(conn: sqlite3.Connection, tz: dt.tzinfo) -> dt.datetime | None:
    value = get_meta(conn, "denylist_issued_at")
    return from_ts(value, tz) if value is not None else None
