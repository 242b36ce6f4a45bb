"""HQ's own SQLite: events deduplicated by (device_id, seq) forever, push acks, fleet state, alarms.

The primary key is the deduplication: no time window, no cache that expires, so a kiosk that
comes back after a month and resends its backlog still cannot double anything.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sync.hq.ports import BatchResult
from sync.schemas import EventMessage, PushAck

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    offline INTEGER NOT NULL,
    historical INTEGER NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
-- Same (device_id, seq) with another event id: kept for a human, never silently dropped.
CREATE TABLE IF NOT EXISTS conflicts (
    device_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL,
    body TEXT NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq, event_id)
);
CREATE TABLE IF NOT EXISTS push_acks (
    id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, type TEXT, version INTEGER,
    status TEXT NOT NULL, reason TEXT, detail TEXT, topic TEXT, at TEXT, received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, store_id TEXT, state TEXT, status_at TEXT,
    telemetry TEXT, telemetry_at TEXT
);
CREATE TABLE IF NOT EXISTS published_versions (
    version_line TEXT PRIMARY KEY, version INTEGER NOT NULL
);
-- Something an operator must look at: a gap in a device's sequence numbers, a kiosk claiming
-- another store. Open until cleared_at is set (a gap clears itself when the events arrive).
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, detail TEXT NOT NULL,
    raised_at TEXT NOT NULL, cleared_at TEXT
);
CREATE INDEX IF NOT EXISTS alarms_open ON alarms(kind, device_id) WHERE cleared_at IS NULL;
"""


class HqStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # an ack promises the event is on disk
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def record_events(self, events: Iterable[EventMessage], received_at: dt.datetime) -> BatchResult:
        result = BatchResult()
        at = received_at.isoformat()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for e in events:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO events(device_id, seq, event_id, type, created_at, "
                    "offline, historical, payload, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        e.device_id,
                        e.seq,
                        e.event_id,
                        e.type,
                        e.created_at.isoformat(),
                        int(e.offline),
                        int(e.historical),
                        json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
                        at,
                    ),
                )
                if cursor.rowcount == 1:
                    result.new.append(e)
                    continue
                (stored_id,) = conn.execute(
                    "SELECT event_id FROM events WHERE device_id=? AND seq=?", (e.device_id, e.seq)
                ).fetchone()
                if stored_id == e.event_id:
                    result.duplicates.append(e)
                else:
                    conn.execute(
                        "INSERT OR IGNORE INTO conflicts VALUES (?,?,?,?,?)",
                        (e.device_id, e.seq, e.event_id, json.dumps(e.to_json(), ensure_ascii=False), at),
                    )
                    result.conflicts.append(e)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    def record_push_ack(self, ack: PushAck, received_at: dt.datetime) -> None:
        self._conn.execute(
            "INSERT INTO push_acks(device_id, type, version, status, reason, detail, topic, at, "
            "received_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                ack.device_id,
                ack.type,
                ack.version,
                ack.status,
                ack.reason,
                ack.detail,
                ack.topic,
                ack.at.isoformat(),
                received_at.isoformat(),
            ),
        )

    def device_store(self, device_id: str) -> str | None:
        row = self._conn.execute("SELECT store_id FROM devices WHERE device_id=?", (device_id,)).fetchone()
        return row[0] if row else None

    def record_status(self, device_id: str, store_id: str, state: str, at: dt.datetime) -> None:
        self._conn.execute(
            "INSERT INTO devices(device_id, store_id, state, status_at) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET store_id=excluded.store_id, "
            "state=excluded.state, status_at=excluded.status_at",
            (device_id, store_id, state, at.isoformat()),
        )

    def record_telemetry(self, device_id: str, body: dict[str, Any], at: dt.datetime) -> None:
        self._conn.execute(
            "INSERT INTO devices(device_id, telemetry, telemetry_at) VALUES (?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET telemetry=excluded.telemetry, "
            "telemetry_at=excluded.telemetry_at",
            (device_id, json.dumps(body, ensure_ascii=False), at.isoformat()),
        )

    # --- queries -------------------------------------------------------------------------------

    def event_count(self, device_id: str | None = None) -> int:
        if device_id is None:
            return self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return self._conn.execute("SELECT COUNT(*) FROM events WHERE device_id=?", (device_id,)).fetchone()[0]

    def seqs(self, device_id: str) -> list[int]:
        return [r[0] for r in self._conn.execute("SELECT seq FROM events WHERE device_id=? ORDER BY seq", (device_id,))]

    def events(self, device_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT seq, event_id, type, payload, historical, offline FROM events WHERE device_id=? ORDER BY seq",
            (device_id,),
        )
        return [
            {"seq": s, "event_id": e, "type": t, "payload": json.loads(p), "historical": bool(h), "offline": bool(o)}
            for s, e, t, p, h, o in rows
        ]

    def gaps(self, device_id: str) -> int:
        """Sequence numbers below the highest seen that never arrived (Sparkplug-style)."""
        row = self._conn.execute(
            "SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM events WHERE device_id=?", (device_id,)
        ).fetchone()
        return row[0] - row[1]

    def missing_seqs(self, device_id: str, limit: int = 10) -> list[tuple[int, int]]:
        """The first `limit` ranges (first, last) of sequence numbers missing below the highest seen."""
        rows = self._conn.execute(
            "SELECT prev + 1, seq - 1 FROM (SELECT seq, LAG(seq, 1, 0) OVER (ORDER BY seq) AS prev "
            "FROM events WHERE device_id=?) WHERE seq > prev + 1 ORDER BY seq LIMIT ?",
            (device_id, limit),
        )
        return [(first, last) for first, last in rows]

    def raise_alarm(self, kind: str, device_id: str, detail: str, at: dt.datetime) -> bool:
        """Open an alarm unless one of this kind is open for the device; True if opened."""
        open_row = self._conn.execute(
            "SELECT id FROM alarms WHERE kind=? AND device_id=? AND cleared_at IS NULL", (kind, device_id)
        ).fetchone()
        if open_row is not None:
            self._conn.execute("UPDATE alarms SET detail=? WHERE id=?", (detail, open_row[0]))
            return False
        self._conn.execute(
            "INSERT INTO alarms(kind, device_id, detail, raised_at) VALUES (?,?,?,?)",
            (kind, device_id, detail, at.isoformat()),
        )
        return True

    def clear_alarm(self, kind: str, device_id: str, at: dt.datetime) -> bool:
        cursor = self._conn.execute(
            "UPDATE alarms SET cleared_at=? WHERE kind=? AND device_id=? AND cleared_at IS NULL",
            (at.isoformat(), kind, device_id),
        )
        return cursor.rowcount > 0

    def alarms(self, *, open_only: bool = False) -> list[dict[str, Any]]:
        cols = ("kind", "device_id", "detail", "raised_at", "cleared_at")
        sql = f"SELECT {', '.join(cols)} FROM alarms" + (" WHERE cleared_at IS NULL" if open_only else "")
        return [dict(zip(cols, row)) for row in self._conn.execute(sql + " ORDER BY id")]

    def conflict_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0]

    def push_acks(self, device_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT device_id, type, version, status, reason, detail FROM push_acks"
        args: tuple = ()
        if device_id is not None:
            sql, args = sql + " WHERE device_id=?", (device_id,)
        cols = ("device_id", "type", "version", "status", "reason", "detail")
        return [dict(zip(cols, row)) for row in self._conn.execute(sql + " ORDER BY id", args)]

    def devices(self) -> list[dict[str, Any]]:
        cols = ("device_id", "store_id", "state", "status_at", "telemetry", "telemetry_at")
        rows = self._conn.execute(f"SELECT {', '.join(cols)} FROM devices ORDER BY device_id")
        out = []
        for row in rows:
            item = dict(zip(cols, row))
            item["telemetry"] = json.loads(item["telemetry"]) if item["telemetry"] else None
            out.append(item)
        return out

    def next_version(self, version_line: str, at_least: int | None = None) -> int:
        row = self._conn.execute(
            "SELECT version FROM published_versions WHERE version_line=?", (version_line,)
        ).fetchone()
        candidate = (row[0] if row else 0) + 1
        return max(candidate, at_least or 0)

    def last_version(self, version_line: str) -> int:
        row = self._conn.execute(
            "SELECT version FROM published_versions WHERE version_line=?", (version_line,)
        ).fetchone()
        return row[0] if row else 0

    def record_published(self, version_line: str, version: int) -> None:
        self._conn.execute(
            "INSERT INTO published_versions VALUES (?, ?) ON CONFLICT(version_line) DO UPDATE "
            "SET version=MAX(version, excluded.version)",
            (version_line, version),
        )
