"""The outbox: every ledger event, written in the same transaction as the change it describes.

The sync relay reads pending events in sequence order, publishes them, and acknowledges them when
HQ's application-level ack arrives; acknowledged events are deleted. Sequence numbers start at 1
and never repeat, even after every event has been acknowledged and deleted, and across restarts:
the next one is one more than the largest still in the outbox or the largest ever deleted, which
the ack records in `meta` (so appending an event writes no page besides the outbox's own).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.ledger.db import from_ts, raise_counter_floor, ts

_SEQ_KEY = "outbox_seq"


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    event_id: str
    type: str
    payload: dict[str, Any]
    created_at: dt.datetime
    offline: bool


def append(
    conn: sqlite3.Connection,
    *,
    event_id: str,
    type: str,
    payload: Mapping[str, Any],
    created_at: dt.datetime,
    offline: bool,
) -> OutboxEvent:
    """Add one event (call inside the transaction that makes the change it reports)."""
    body = dict(payload)
    # seq is the rowid, so lastrowid returns it (RETURNING would cost SQLite a temporary table).
    seq = conn.execute(
        "INSERT INTO outbox(seq, event_id, type, payload, created_at, offline) VALUES ("
        " MAX(COALESCE((SELECT MAX(seq) FROM outbox), 0),"
        "     COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0)) + 1,"
        " ?, ?, ?, ?, ?)",
        (_SEQ_KEY, event_id, type, json.dumps(body, ensure_ascii=False, sort_keys=True), ts(created_at), int(offline)),
    ).lastrowid
    assert seq is not None  # sqlite3 sets lastrowid on every INSERT that succeeded
    return OutboxEvent(seq=seq, event_id=event_id, type=type, payload=body, created_at=created_at, offline=offline)


def pending(conn: sqlite3.Connection, limit: int, tz: dt.tzinfo) -> list[OutboxEvent]:
    rows = conn.execute(
        "SELECT seq, event_id, type, payload, created_at, offline FROM outbox ORDER BY seq LIMIT ?",
        (max(0, int(limit)),),
    ).fetchall()
    return [
        OutboxEvent(seq=s, event_id=e, type=t, payload=json.loads(p), created_at=from_ts(c, tz), offline=bool(o))
        for s, e, t, p, c, o in rows
    ]


def ack(conn: sqlite3.Connection, events: Iterable[str | tuple[int, str]]) -> int:
    """Delete acknowledged events; unknown or already-acknowledged ones are ignored.

    An item is an event id, or a (seq, event_id) pair as HQ's signed ack names it: a pair deletes
    only the event with both, so an ack cannot remove an event under another sequence number.
    """
    removed = 0
    highest = 0
    for item in set(events):
        args: tuple[str | int, ...]
        if isinstance(item, tuple):
            sql, args = "DELETE FROM outbox WHERE event_id = ? AND seq = ? RETURNING seq", (str(item[1]), int(item[0]))
        else:
            sql, args = "DELETE FROM outbox WHERE event_id = ? RETURNING seq", (str(item),)
        for (seq,) in conn.execute(sql, args).fetchall():
            removed += 1
            highest = max(highest, seq)
    if removed:
        raise_counter_floor(conn, _SEQ_KEY, highest)  # the next append must not reuse a deleted number
    return removed


def depth(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
