"""The highest accepted version of each HQ document type, in the kiosk's own small SQLite file.

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
    version_line TEXT PRIMARY KEY,   -- rules | members | denylist (deltas share denylist's line)
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,            -- SHA-256 of the canonical payload
    scope TEXT NOT NULL,
    accepted_at TEXT NOT NULL
)
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
            conn.execute(_SCHEMA)
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

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
