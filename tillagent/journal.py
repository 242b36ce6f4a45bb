"""The till agent's durable journal (SQLite): every write-off attempt, and the cached key directory.

WAL with synchronous=FULL: a commit is on disk when it returns, so a write-off the agent answered
"accepted offline" survives a power cut that follows the answer. An attempt is journaled *before*
its request leaves the till, with the request id it keeps for every retry and replay; a crash
mid-request leaves a `sending` row that replay settles later.

States of an attempt:

    sending              a request is (or was, before a crash) on its way; HQ may hold it
    confirmed            HQ wrote it off for this attempt (online, at replay, or found at settling)
    refused              HQ refused it online: HQ's answer is final
    refused_offline      HQ was unreachable and the agent refused it; HQ never wrote it off
    in_doubt             refused to the POS while HQ may have written it off; settled when HQ is back
    pending_replay       accepted offline; HQ does not know yet
    double_use_detected  replayed, and HQ had it used elsewhere already (HQ raised the alarm)
    refused_at_replay    replayed, and HQ refused it for another reason (`message` says which)
    reversed             an in-doubt write-off HQ had made, reversed by the agent (the POS was told no)

The offline acceptance (the daily cap and "not journaled already") is one IMMEDIATE transaction,
so a CLI and a daemon sharing the journal cannot both take the last yuan of the cap.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from tillagent.errors import TillAgentError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    request_id  TEXT PRIMARY KEY,
    code        TEXT NOT NULL,      -- what was sent: the canonical QR text, or a short code
    is_short    INTEGER NOT NULL,
    order_no    TEXT NOT NULL,
    accepted_at TEXT NOT NULL,      -- RFC 3339; for an offline acceptance the `offline_at` replayed
    local_day   TEXT NOT NULL,      -- accepted_at's calendar day in till.yaml's time zone
    mode        TEXT NOT NULL,      -- online | offline
    state       TEXT NOT NULL,
    voucher_id  TEXT,
    short_code  TEXT,
    value_fen   INTEGER,
    online_sent INTEGER NOT NULL DEFAULT 0,  -- an online body with this id left the till: HQ may hold it
    hq_status   INTEGER,
    hq_error    TEXT,
    message     TEXT,
    hq_answer   TEXT,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_voucher ON attempts (voucher_id);
CREATE INDEX IF NOT EXISTS attempts_short ON attempts (short_code);
CREATE INDEX IF NOT EXISTS attempts_state ON attempts (state);
CREATE INDEX IF NOT EXISTS attempts_day ON attempts (local_day, mode);
CREATE TABLE IF NOT EXISTS key_directory (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    envelope   BLOB NOT NULL,       -- the signed envelope exactly as HQ sent it
    fetched_at TEXT NOT NULL
);
"""


class JournalError(TillAgentError):
    """The journal cannot be opened or was written by a newer agent."""


class State(str, enum.Enum):
    SENDING = "sending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    REFUSED_OFFLINE = "refused_offline"
    IN_DOUBT = "in_doubt"
    PENDING_REPLAY = "pending_replay"
    DOUBLE_USE_DETECTED = "double_use_detected"
    REFUSED_AT_REPLAY = "refused_at_replay"
    REVERSED = "reversed"


class Refusal(NamedTuple):
    """Why the agent refuses a write-off itself: a machine code and a sentence for the cashier."""

    error: str
    message: str


#: Offline acceptances count against the day's cap whatever replay made of them later.
OFFLINE_ACCEPTED = (State.PENDING_REPLAY, State.CONFIRMED, State.DOUBLE_USE_DETECTED, State.REFUSED_AT_REPLAY)


@dataclass(frozen=True)
class Entry:
    request_id: str
    code: str
    is_short: bool
    order_no: str
    accepted_at: dt.datetime
    local_day: str
    mode: str
    state: State
    updated_at: dt.datetime
    voucher_id: str | None = None
    short_code: str | None = None
    value_fen: int | None = None
    online_sent: bool = False
    hq_status: int | None = None
    hq_error: str | None = None
    message: str | None = None
    hq_answer: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            state=self.state.value, accepted_at=self.accepted_at.isoformat(), updated_at=self.updated_at.isoformat()
        )
        return out


def _row(entry: Entry) -> dict[str, Any]:
    out = asdict(entry)
    out.update(
        state=entry.state.value,
        accepted_at=entry.accepted_at.isoformat(),
        updated_at=entry.updated_at.isoformat(),
        is_short=int(entry.is_short),
        online_sent=int(entry.online_sent),
        hq_answer=None if entry.hq_answer is None else json.dumps(entry.hq_answer, ensure_ascii=False),
    )
    return out


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        request_id=row["request_id"],
        code=row["code"],
        is_short=bool(row["is_short"]),
        order_no=row["order_no"],
        accepted_at=dt.datetime.fromisoformat(row["accepted_at"]),
        local_day=row["local_day"],
        mode=row["mode"],
        state=State(row["state"]),
        updated_at=dt.datetime.fromisoformat(row["updated_at"]),
        voucher_id=row["voucher_id"],
        short_code=row["short_code"],
        value_fen=row["value_fen"],
        online_sent=bool(row["online_sent"]),
        hq_status=row["hq_status"],
        hq_error=row["hq_error"],
        message=row["message"],
        hq_answer=None if row["hq_answer"] is None else json.loads(row["hq_answer"]),
    )


_COLUMNS = tuple(Entry.__dataclass_fields__)


class Journal:
    """One SQLite file; safe to share between this process's threads (one lock) and other processes."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unused voucher codes are bearer value: the journal is the agent's user's alone. SQLite
            # gives its -wal and -shm files the database file's permissions.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            # Autocommit: every write below is its own transaction or an explicit BEGIN IMMEDIATE.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(f"{path}: journal schema {version} is newer than this agent's ({SCHEMA_VERSION})")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"{path}: cannot open the journal: {exc}") from None
        self.path = path
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, where: str, *params: Any, order: str = "accepted_at, request_id") -> list[Entry]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM attempts WHERE {where} ORDER BY {order}", params).fetchall()
        return [_entry(row) for row in rows]

    # -- attempts ---------------------------------------------------------------------------------

    def add(self, entry: Entry) -> Entry:
        row = _row(entry)
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._lock:
            self._db.execute(f"INSERT INTO attempts ({names}) VALUES ({marks})", row)
        return entry

    def get(self, request_id: str) -> Entry | None:
        found = self._select("request_id = ?", request_id)
        return found[0] if found else None

    def update(self, entry: Entry, **changes: Any) -> Entry:
        """Write `entry` with `changes` (Entry fields) applied; returns the new entry."""
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise TypeError(f"not journal columns: {sorted(unknown)}")
        new = replace(entry, **changes)
        row = _row(new)
        assignments = ", ".join(f"{name} = :{name}" for name in row if name != "request_id")
        with self._lock:
            self._db.execute(f"UPDATE attempts SET {assignments} WHERE request_id = :request_id", row)
        return new

    def for_voucher(self, voucher_id: str | None, short_code: str | None) -> list[Entry]:
        """Every attempt on this voucher: by its id, or by its short code (typed ones have no id)."""
        return self._select("voucher_id = ? OR short_code = ?", voucher_id, short_code)

    def in_states(self, *states: State) -> list[Entry]:
        marks = ", ".join("?" for _ in states)
        return self._select(f"state IN ({marks})", *(s.value for s in states))

    def offline_total(self, day: str) -> int:
        with self._lock:
            return self._offline_total(self._db, day)

    @staticmethod
    def _offline_total(db: sqlite3.Connection, day: str) -> int:
        marks = ", ".join("?" for _ in OFFLINE_ACCEPTED)
        total = db.execute(
            f"SELECT COALESCE(SUM(value_fen), 0) FROM attempts WHERE local_day = ? AND mode = 'offline' "
            f"AND state IN ({marks})",
            (day, *(s.value for s in OFFLINE_ACCEPTED)),
        ).fetchone()[0]
        return int(total)

    def state_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM attempts GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    def accept_offline(
        self,
        entry: Entry,
        *,
        accepted_at: dt.datetime,
        day: str,
        cap_fen: int,
        blocked_by: Callable[[Entry], Refusal | None],
    ) -> Entry | Refusal:
        """Journal `entry` as accepted offline, or say why not: another attempt on the voucher that
        `blocked_by` names, or the day's offline total that would pass `cap_fen`."""
        value = entry.value_fen or 0
        with self._transaction() as db:
            others = [
                _entry(row)
                for row in db.execute(
                    "SELECT * FROM attempts WHERE (voucher_id = ? OR code = ?) AND request_id != ? "
                    "ORDER BY accepted_at",
                    (entry.voucher_id, entry.code, entry.request_id),
                )
            ]
            for other in others:
                if (why := blocked_by(other)) is not None:
                    return why
            total = self._offline_total(db, day)
            if total + value > cap_fen:
                return Refusal(
                    "offline_daily_cap",
                    f"today's offline write-offs ({total} fen) plus this voucher ({value} fen) would pass "
                    f"the offline daily cap of {cap_fen} fen",
                )
            new = replace(
                entry, state=State.PENDING_REPLAY, mode="offline", accepted_at=accepted_at, local_day=day,
                updated_at=accepted_at, message=None,
            )  # fmt: skip
            row = _row(new)
            assignments = ", ".join(f"{name} = :{name}" for name in row if name != "request_id")
            db.execute(f"UPDATE attempts SET {assignments} WHERE request_id = :request_id", row)
        return new

    # -- the key directory ------------------------------------------------------------------------

    def save_directory(self, envelope: bytes, version: int, fetched_at: dt.datetime) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO key_directory (id, version, envelope, fetched_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, envelope = excluded.envelope, "
                "fetched_at = excluded.fetched_at",
                (version, envelope, fetched_at.isoformat()),
            )

    def cached_directory(self) -> tuple[bytes, int, dt.datetime] | None:
        """The envelope as HQ sent it, the version it claimed when stored, and when it was fetched."""
        with self._lock:
            row = self._db.execute("SELECT envelope, version, fetched_at FROM key_directory WHERE id = 1").fetchone()
        if row is None:
            return None
        return bytes(row["envelope"]), int(row["version"]), dt.datetime.fromisoformat(row["fetched_at"])
