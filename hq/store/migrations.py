"""Schema migrations, the same on SQLite and PostgreSQL: numbered steps, each applied once.

`migrate(engine)` runs at start-up of every HQ process. Two processes starting together against one
PostgreSQL take an advisory lock first (SQLite's `BEGIN IMMEDIATE` serialises them), so a step is
never applied twice. A database newer than this code is refused rather than used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hq.store import tables

VERSION_LINES = ("rules", "members", "denylist")
#: Tables a later step creates: the initial schema is everything else.
_ADDED_LATER = frozenset(
    {
        "voucher_registry", "voucher_history", "tills", "voucher_keys", "checkins", "member_pins", "member_snapshots",
        "wheel_spins", "operators", "birthday_gifts",
    }
)  # fmt: skip
_LOCK_KEY = 0x4B494F534B  # "KIOSK": pg_advisory_xact_lock key for migrations


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer HQ than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    names = [
        t for t in tables.metadata.sorted_tables if t is not tables.schema_migrations and t.name not in _ADDED_LATER
    ]
    tables.metadata.create_all(conn, tables=names)
    # Every version line has its row from the start, so taking a version always locks a row.
    conn.execute(
        tables.published_versions.insert(),
        [{"version_line": line, "version": 0} for line in VERSION_LINES],
    )


def _voucher_write_off(conn: Connection) -> None:
    """The voucher registry with its write-off columns, its history, tills and the key directory.

    Version 1's `vouchers` table (issued vouchers only) is copied into the registry and dropped.
    """
    new = [tables.vouchers, tables.voucher_history, tables.tills, tables.voucher_keys]
    tables.metadata.create_all(conn, tables=new)
    if sa.inspect(conn).has_table("vouchers"):
        conn.execute(
            sa.text(
                "INSERT INTO voucher_registry (voucher_id, member_id, device_id, reward_id, points, issued_at,"
                " expires_at, state, source, event_id)"
                " SELECT voucher_id, member_id, device_id, reward_id, points, issued_at, expires_at, state,"
                " 'kiosk', event_id FROM vouchers"
            )
        )
        conn.execute(sa.text("DROP TABLE vouchers"))
    conn.execute(tables.published_versions.insert().values(version_line="voucher_keys", version=0))


def _daily_checkin(conn: Connection) -> None:
    """Daily check-in: the `checkins` table (one row per member and store day) and the member's
    last check-in day and streak.

    A database created by this code already has the member columns (the initial step creates
    `members` as the tables now declare it), so they are added only where missing.
    """
    tables.metadata.create_all(conn, tables=[tables.checkins])
    _add_member_columns(conn, (("checkin_last_day", "VARCHAR(10)"), ("checkin_streak", "INTEGER")))


def _add_member_columns(conn: Connection, columns: tuple[tuple[str, str], ...]) -> None:
    """Add the `(name, SQL type)` columns `members` lacks (a database the initial step created
    from the current tables has them already)."""
    have = {column["name"] for column in sa.inspect(conn).get_columns("members")}
    for name, kind in columns:
        if name not in have:
            conn.execute(sa.text(f"ALTER TABLE members ADD COLUMN {name} {kind}"))


def _member_pins(conn: Connection) -> None:
    """A PIN before spending: `member_pins` (the hash, the lock and the last unlock per member)."""
    tables.metadata.create_all(conn, tables=[tables.member_pins])


def _member_snapshots(conn: Connection) -> None:
    """Full member snapshots in parts: `member_snapshots` (the last one per scope) and the version
    line that numbers the retained clears of part topics a shorter snapshot no longer uses."""
    tables.metadata.create_all(conn, tables=[tables.member_snapshots])
    conn.execute(tables.published_versions.insert().values(version_line="members_clear", version=0))


def _prize_wheel(conn: Connection) -> None:
    """The prize wheel (幸运大转盘): `wheel_spins` (every spin with its draw, for the audit) and the
    member's free spins counted fleet-wide (`wheel_day`, `wheel_free_used`).

    A database created by this code already has the member columns (the initial step creates
    `members` as the tables now declare it), so they are added only where missing.
    """
    tables.metadata.create_all(conn, tables=[tables.wheel_spins])
    _add_member_columns(conn, (("wheel_day", "VARCHAR(10)"), ("wheel_free_used", "INTEGER")))


def _operators(conn: Connection) -> None:
    """Named operator accounts for the HTTP API: `operators` (role, store, the token's SHA-256)."""
    tables.metadata.create_all(conn, tables=[tables.operators])


def _birthday_gift(conn: Connection) -> None:
    """The birthday gift (生日礼): `birthday_gifts` (every claim HQ applied) and the member's
    `birthday_gift_year`, added only where missing as for the wheel's columns."""
    tables.metadata.create_all(conn, tables=[tables.birthday_gifts])
    _add_member_columns(conn, (("birthday_gift_year", "INTEGER"),))


def _analytics_index(conn: Connection) -> None:
    """The member analytics' index on purchases, (member_id, at, store_id, amount_fen,
    refunded_fen): a database created by this code already has it."""
    index = next(i for i in tables.purchases.indexes if i.name == "purchases_member_time")
    index.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "voucher write-off: registry, history, tills, key directory", _voucher_write_off),
    Migration(3, "daily check-in: checkins, the member's last check-in day and streak", _daily_checkin),
    Migration(4, "a PIN before spending: member_pins", _member_pins),
    Migration(5, "member snapshots in parts: member_snapshots, members_clear", _member_snapshots),
    Migration(6, "prize wheel: wheel_spins, the member's free spins of the day", _prize_wheel),
    Migration(7, "named operator accounts: operators", _operators),
    Migration(8, "birthday gift: birthday_gifts, the member's birthday_gift_year", _birthday_gift),
    Migration(9, "member analytics: an index on purchases by member and time", _analytics_index),
)


def current_version(conn: Connection) -> int:
    found = conn.execute(sa.select(sa.func.max(tables.schema_migrations.c.version))).scalar()
    return int(found or 0)


def migrate(engine: Engine, *, now: dt.datetime | None = None) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    applied: list[int] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        tables.schema_migrations.create(conn, checkfirst=True)
        have = current_version(conn)
        newest = MIGRATIONS[-1].version
        if have > newest:
            raise SchemaTooNew(f"database schema version {have} is newer than this HQ ({newest}): upgrade HQ")
        for step in MIGRATIONS:
            if step.version <= have:
                continue
            step.apply(conn)
            conn.execute(
                tables.schema_migrations.insert().values(
                    version=step.version, name=step.name, applied_at=now or dt.datetime.now(dt.UTC)
                )
            )
            applied.append(step.version)
    return applied
