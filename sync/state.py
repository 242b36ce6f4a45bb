"""What the kiosk has accepted from HQ, in its own small SQLite file: the highest version of each
document type, the ids of the commands it has applied, and the parts of a member snapshot that
arrived while the rest of it has not (sync.snapshot_parts).

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
-- Parts of a member snapshot (one per scope at a time), staged until every part is here. Once
-- the set is applied its bodies are dropped and the digests kept: the retained parts come back
-- on every reconnect and are then answered "current".
CREATE TABLE IF NOT EXISTS snapshot_parts (
    scope TEXT NOT NULL,
    first_version INTEGER NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    digest TEXT NOT NULL,            -- SHA-256 of the canonical part payload
    members TEXT,                    -- JSON list; NULL once applied
    acknowledged TEXT,               -- JSON list of event ids; NULL once applied
    staged_at TEXT NOT NULL,
    PRIMARY KEY (scope, first_version, part)
);
"""


@dataclass(frozen=True)
class Accepted:
    version: int
    digest: str
    scope: str
    accepted_at: dt.datetime


@dataclass(frozen=True)
class StagedPart:
    part: int
    parts: int
    digest: str
    applied: bool


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

    # --- member snapshot parts (sync.snapshot_parts) ---------------------------------------------

    def staged_part(self, scope: str, first_version: int, part: int) -> StagedPart | None:
        row = (
            self._db()
            .execute(
                "SELECT parts, digest, members IS NULL FROM snapshot_parts"
                " WHERE scope = ? AND first_version = ? AND part = ?",
                (scope, first_version, part),
            )
            .fetchone()
        )
        return None if row is None else StagedPart(part, row[0], row[1], bool(row[2]))

    def newest_staged(self, scope: str) -> int | None:
        """The first version of the newest set of `scope` still being collected (not applied)."""
        row = (
            self._db()
            .execute("SELECT MAX(first_version) FROM snapshot_parts WHERE scope = ? AND members IS NOT NULL", (scope,))
            .fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def stage_part(
        self,
        scope: str,
        first_version: int,
        part: int,
        parts: int,
        digest: str,
        members: str,
        acknowledged: str,
        at: dt.datetime,
    ) -> list[StagedPart]:
        """Keep one part (other sets of `scope` not yet applied are dropped); the set's parts so far."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "DELETE FROM snapshot_parts WHERE scope = ? AND first_version != ? AND members IS NOT NULL",
                (scope, first_version),
            )
            conn.execute(
                "INSERT OR IGNORE INTO snapshot_parts(scope, first_version, part, parts, digest, members,"
                " acknowledged, staged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scope, first_version, part, parts, digest, members, acknowledged, at.isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        rows = conn.execute(
            "SELECT part, parts, digest FROM snapshot_parts WHERE scope = ? AND first_version = ? ORDER BY part",
            (scope, first_version),
        ).fetchall()
        return [StagedPart(r[0], r[1], r[2], False) for r in rows]

    def part_bodies(self, scope: str, first_version: int, part: int) -> tuple[str, str]:
        """(members JSON, acknowledged event ids JSON) of a staged part."""
        row = (
            self._db()
            .execute(
                "SELECT members, acknowledged FROM snapshot_parts WHERE scope = ? AND first_version = ? AND part = ?",
                (scope, first_version, part),
            )
            .fetchone()
        )
        if row is None or row[0] is None:
            raise LookupError(f"part {part} of the {scope} snapshot from version {first_version} is not staged")
        return row[0], row[1]

    def parts_applied(self, scope: str, first_version: int) -> None:
        """The set is in the ledger: keep only its digests, drop every other set of `scope`."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM snapshot_parts WHERE scope = ? AND first_version != ?", (scope, first_version))
        conn.execute(
            "UPDATE snapshot_parts SET members = NULL, acknowledged = NULL WHERE scope = ? AND first_version = ?",
            (scope, first_version),
        )
        conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _utc(moment: dt.datetime) -> str:
    """Comparable as text: every stored instant in UTC with the same layout."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
