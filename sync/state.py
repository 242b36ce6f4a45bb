"""What the kiosk has accepted from HQ, in its own small SQLite file: the highest version of each
document type, and the ids of the commands it has applied.

Rollback protection must survive restarts and must not depend on the ledger's schema, so sync
keeps this table itself (`sync-state.sqlite` in the data dir). The check combines it with the
ledger's version getters; see docs/mqtt.md "Who remembers accepted versions".
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted_versions (
    version_line TEXT PRIMARY KEY,   -- rules | members | denylist | voucher_keys (deltas share denylist's)
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,            -- SHA-256 of the canonical payload
    scope TEXT NOT NULL,
    accepted_at TEXT NOT NULL
);
-- A command id is applied at most once. Rows are kept until the command could no longer pass
-- the freshness check anyway (not_after + tolerance), so the table stays small.
CREATE TABLE IF NOT EXISTS applied_commands (
    id TEXT PRIMARY KEY,
    not_after TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Accepted:
    version: int
    digest: str
    scope: str
    accepted_at: dt.datetime


class VersionStore:
    """One connection, used by one thread (the sync worker opens it there)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a version accepted must stay accepted
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def get(self, version_line: str) -> Accepted | None:
        row = (
            self._db()
            .execute(
                "SELECT version, digest, scope, accepted_at FROM accepted_versions WHERE version_line = ?",
                (version_line,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return Accepted(row[0], row[1], row[2], dt.datetime.fromisoformat(row[3]))

    def record(self, version_line: str, version: int, digest: str, scope: str, at: dt.datetime) -> None:
        # Never lower the bar, even if called out of order.
        self._db().execute(
            "INSERT INTO accepted_versions(version_line, version, digest, scope, accepted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(version_line) DO UPDATE SET "
            "version = excluded.version, digest = excluded.digest, scope = excluded.scope, "
            "accepted_at = excluded.accepted_at WHERE excluded.version >= accepted_versions.version",
            (version_line, version, digest, scope, at.isoformat()),
        )

    def claim_command(self, command_id: str, not_after: dt.datetime, now: dt.datetime, *, keep: dt.timedelta) -> bool:
        """True the first time `command_id` is claimed, False ever after (until it has expired by `keep`)."""
        conn = self._db()
        conn.execute("DELETE FROM applied_commands WHERE not_after < ?", (_utc(now - keep),))
        cursor = conn.execute(
            "INSERT OR IGNORE INTO applied_commands(id, not_after, applied_at) VALUES (?, ?, ?)",
            (command_id, _utc(not_after), now.isoformat()),
        )
        return cursor.rowcount == 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _utc(moment: dt.datetime) -> str:
    """Comparable as text: every stored instant in UTC with the same layout."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
