"""SQLite plumbing for the ledger: connection, pragmas, integrity check, migrations, transactions.

Durability first: WAL journal with `synchronous=FULL`, so a commit that returned survives power
loss. The connection runs in autocommit mode and every multi-row change goes through `transaction`
(`BEGIN IMMEDIATE` ... `COMMIT`), so nothing is ever half-applied. Schema changes are numbered
migrations recorded in `PRAGMA user_version`. Timestamps are stored as fixed-width UTC ISO text
(lexically ordered, so SQL comparisons work) and handed out as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from kiosk.ledger.errors import CorruptDatabase, SchemaTooNew

_LOG = logging.getLogger(__name__)

_UTC = dt.UTC


# --- time -----------------------------------------------------------------------------------


def ts(value: dt.datetime) -> str:
    """An aware datetime as sortable UTC text ("2027-01-31T16:00:00.000000Z")."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the ledger only stores timezone-aware times")
    # isoformat rather than strftime or field formatting: this runs several times per redemption.
    return value.astimezone(_UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def from_ts(text: str, tz: dt.tzinfo) -> dt.datetime:
    """Stored UTC text back to an aware datetime in `tz` (the store's timezone)."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_UTC).astimezone(tz)


# --- connection -------------------------------------------------------------------------------


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the ledger file with the durability pragmas; check integrity.

    Raises CorruptDatabase when SQLite cannot read the file or integrity_check reports problems.
    """
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    except sqlite3.DatabaseError as exc:
        raise CorruptDatabase(path, str(exc)) from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        conn.close()
        raise CorruptDatabase(path, str(exc)) from exc
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        conn.close()
        raise CorruptDatabase(path, "; ".join(problems[:5]))
    return conn


class transaction:  # noqa: N801 - used like a function: `with transaction(conn):`
    """One explicit write transaction: all of the block's changes commit together or not at all.

    `BEGIN IMMEDIATE` takes the write lock up front, so two writers never deadlock half way.
    A class rather than a generator-based context manager: it wraps every ledger write.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


# --- meta key/value -------------------------------------------------------------------------


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def counter_floor(conn: sqlite3.Connection, key: str) -> int:
    """The number a persistent counter in `meta` must stay above (0 if never set)."""
    row = conn.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def raise_counter_floor(conn: sqlite3.Connection, key: str, value: int) -> None:
    """Record that numbers up to `value` were used; the floor never goes down (call inside a transaction).

    Counters are not bumped in `meta` on every use (that would write one more page per redemption
    commit): the next number is derived from the rows that carry them, and the floor only
    remembers numbers whose rows are gone (acknowledged outbox events are deleted), so a number is
    never issued twice, even after every row that used it has been deleted.
    """
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = MAX(CAST(meta.value AS INTEGER), CAST(excluded.value AS INTEGER))",
        (key, str(int(value))),
    )


# --- migrations -----------------------------------------------------------------------------


def _migration_1(conn: sqlite3.Connection) -> None:
    """The initial schema."""
    # Imported here: only a new ledger needs it, and it brings ~11 MiB of modules (click, dateutil,
    # tabulate, ...) that every later start of the kiosk would otherwise carry (bench.kiosk's rss_mb).
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.table("rules").create(
        {"version": int, "document": str, "applied_at": str}, pk="version", not_null={"document", "applied_at"}
    )
    # HQ's replica of each member as of snapshot `snapshot_version`.
    db.table("members").create(
        {
            "member_id": str,
            "name": str,
            "birthday": str,
            "balance_fen": int,
            "spend_fen": int,
            "growth_points": int,
            "tier_floor": str,
            "tier_override": str,
            "snapshot_version": int,
        },
        pk="member_id",
        not_null={"name", "balance_fen", "spend_fen", "growth_points", "snapshot_version"},
    )
    # HQ's point lots: `points` is what HQ says is left of the lot.
    db.table("lots").create(
        {"member_id": str, "lot_id": str, "points": int, "earned_at": str, "expires_at": str},
        pk=("member_id", "lot_id"),
        not_null={"points", "earned_at", "expires_at"},
        foreign_keys=[("member_id", "members", "member_id")],
    )
    # Local events HQ's snapshot does not include yet (they count on top of the snapshot).
    db.table("local_events").create(
        {
            "event_id": str,
            "member_id": str,
            "kind": str,
            "points": int,
            "created_at": str,
            "rules_version": int,
            "intent_id": str,
            "voucher_id": str,
            "offline": int,
            "acked_version": int,
        },
        pk="event_id",
        not_null={"member_id", "kind", "points", "created_at", "offline"},
    )
    # FIFO allocation of a local event's points to HQ lots; lot_id NULL = not coverable (deficit).
    db.table("spends").create(
        {"event_id": str, "member_id": str, "lot_id": str, "points": int},
        not_null={"event_id", "member_id", "points"},
        foreign_keys=[("event_id", "local_events", "event_id")],
    )
    db.table("cards").create(
        {"uid": bytes, "member_id": str, "issue_no": int, "status": str, "last_counter": int, "updated_at": str},
        pk="uid",
        not_null={"member_id", "issue_no", "status", "last_counter"},
    )
    db.table("denylist").create(
        {"uid": bytes, "reason": str, "source": str, "added_at": str},
        pk="uid",
        not_null={"reason", "source"},
    )
    db.table("intents").create(
        {
            "intent_id": str,
            "member_id": str,
            "reward_id": str,
            "card_uid": bytes,
            "online": int,
            "state": str,
            "card_counter": int,
            "cost_points": int,
            "rules_version": int,
            "voucher_id": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="intent_id",
        not_null={"member_id", "reward_id", "online", "state", "cost_points", "created_at"},
    )
    db.table("vouchers").create(
        {
            "voucher_id": str,
            "serial": int,
            "member_id": str,
            "reward_id": str,
            "reward_name": str,
            "value_fen": int,
            "cost_points": int,
            "code": str,
            "short_code": str,
            "issued_at": str,
            "expires_at": str,
            "state": str,
            "offline": int,
            "intent_id": str,
            "event_id": str,
            "rules_version": int,
        },
        pk="voucher_id",
        not_null={"serial", "member_id", "reward_id", "code", "short_code", "issued_at", "expires_at", "state"},
    )
    db.table("outbox").create(
        {"seq": int, "event_id": str, "type": str, "payload": str, "created_at": str, "offline": int},
        pk="seq",
        not_null={"event_id", "type", "payload", "created_at", "offline"},
    )
    for statement in (
        "CREATE UNIQUE INDEX outbox_event_id ON outbox(event_id)",
        "CREATE UNIQUE INDEX vouchers_intent ON vouchers(intent_id)",
        "CREATE UNIQUE INDEX vouchers_short_code ON vouchers(short_code)",
        "CREATE INDEX vouchers_member ON vouchers(member_id, issued_at)",
        "CREATE INDEX lots_expiry ON lots(member_id, expires_at)",
        "CREATE INDEX local_events_member ON local_events(member_id, acked_version)",
        "CREATE INDEX spends_member ON spends(member_id, lot_id)",
        "CREATE INDEX spends_event ON spends(event_id)",
        "CREATE INDEX cards_member ON cards(member_id)",
        "CREATE INDEX intents_card ON intents(card_uid, state)",
        "CREATE INDEX intents_member ON intents(member_id, state)",
    ):
        conn.execute(statement)


def _migration_2(conn: sqlite3.Connection) -> None:
    """Fewer b-trees written per redemption: a durable commit costs what its WAL frames cost.

    Schema 1 wrote ~19 pages per redemption (a raw insert writes 1): every text-keyed table was a
    rowid table plus a separate unique index on its key, several indexes served no query, and the
    intent row was written twice. Schema 2 writes ~10:
    - local_events, spends, intents: WITHOUT ROWID, so the key IS the table (no second b-tree);
    - spends: keyed by (member_id, event_id, part): the member's spends are what every points
      query reads; `part` keeps the FIFO order of one event's allocation (it was the rowid). They
      also list the member's unacknowledged events (every one with points has spends, and its
      spends go when HQ acknowledges it), so local_events needs no index by member;
    - local_events: `seq` (the outbox number of the event) orders events of the same instant,
      as the rowid did (rows from schema 1 keep their rowid: each of them took an outbox number,
      so later sequence numbers are larger);
    - intents: only open intents (prepared, abandoned); every query other than by id asks for
      state = 'prepared', so those indexes are partial. A confirmed intent is recorded by its
      voucher: vouchers gain card_uid, card_counter, prepared_at and prepared_rules_version (the
      intent's created_at and rules_version; its updated_at is the local event's created_at);
    - vouchers: keyed by serial (a rowid table, so the next serial is max(serial) + 1 and `meta`
      is not written per redemption); the CHECK ties voucher_id to the serial, so ids stay
      unique and are found through their serial; the intent, short-code and member indexes stay.
    - lots_expiry also holds earned_at and lot_id, the rest of the order live lots are read in.
    The outbox table is unchanged. `meta` keeps voucher_serial and outbox_seq, now as floors.
    """
    for table in ("intents", "local_events", "spends", "vouchers"):
        conn.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_v1"')
    for statement in (
        # Key columns first and in key order: SQLite 3.40's integrity_check reports false "NULL
        # value" errors for WITHOUT ROWID tables declared otherwise (and it runs at every start).
        """CREATE TABLE intents (
            intent_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, reward_id TEXT NOT NULL, card_uid BLOB,
            online INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('prepared', 'abandoned')),
            card_counter INTEGER, cost_points INTEGER NOT NULL, rules_version INTEGER, created_at TEXT NOT NULL,
            updated_at TEXT
        ) WITHOUT ROWID""",
        """CREATE TABLE local_events (
            event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, kind TEXT NOT NULL, points INTEGER NOT NULL,
            created_at TEXT NOT NULL, rules_version INTEGER, intent_id TEXT, voucher_id TEXT,
            offline INTEGER NOT NULL, acked_version INTEGER, seq INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE spends (
            member_id TEXT NOT NULL, event_id TEXT NOT NULL REFERENCES local_events(event_id),
            part INTEGER NOT NULL, lot_id TEXT, points INTEGER NOT NULL,
            PRIMARY KEY (member_id, event_id, part)
        ) WITHOUT ROWID""",
        """CREATE TABLE vouchers (
            voucher_id TEXT NOT NULL, serial INTEGER PRIMARY KEY, member_id TEXT NOT NULL, reward_id TEXT NOT NULL,
            reward_name TEXT, value_fen INTEGER, cost_points INTEGER, code TEXT NOT NULL, short_code TEXT NOT NULL,
            issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, state TEXT NOT NULL, offline INTEGER,
            intent_id TEXT, event_id TEXT, rules_version INTEGER, card_uid BLOB, card_counter INTEGER,
            prepared_at TEXT, prepared_rules_version INTEGER,
            CHECK (serial > 0 AND substr(voucher_id, -length(serial) - 1) = '-' || serial)
        )""",
        "INSERT INTO intents SELECT intent_id, member_id, reward_id, card_uid, online, state, card_counter,"
        " cost_points, rules_version, created_at, updated_at FROM intents_v1 WHERE state != 'confirmed'",
        "INSERT INTO local_events SELECT event_id, member_id, kind, points, created_at, rules_version, intent_id,"
        " voucher_id, offline, acked_version, rowid FROM local_events_v1",
        "INSERT INTO spends SELECT member_id, event_id, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY rowid) - 1,"
        " lot_id, points FROM spends_v1",
        "INSERT INTO vouchers SELECT v.voucher_id, v.serial, v.member_id, v.reward_id, v.reward_name, v.value_fen,"
        " v.cost_points, v.code, v.short_code, v.issued_at, v.expires_at, v.state, v.offline, v.intent_id,"
        " v.event_id, v.rules_version, i.card_uid, i.card_counter, i.created_at, i.rules_version"
        " FROM vouchers_v1 v LEFT JOIN intents_v1 i ON i.intent_id = v.intent_id AND i.state = 'confirmed'",
        # Children first: spends_v1 still refers to local_events_v1.
        "DROP TABLE spends_v1",
        "DROP TABLE local_events_v1",
        "DROP TABLE intents_v1",
        "DROP TABLE vouchers_v1",
        "CREATE INDEX intents_prepared_member ON intents(member_id, reward_id) WHERE state = 'prepared'",
        "CREATE INDEX intents_prepared_card ON intents(card_uid, created_at) WHERE state = 'prepared'",
        "CREATE UNIQUE INDEX vouchers_intent ON vouchers(intent_id)",
        "CREATE UNIQUE INDEX vouchers_short_code ON vouchers(short_code)",
        "CREATE INDEX vouchers_member ON vouchers(member_id, issued_at)",
        # In the order live_lots reads them, so it needs no sort (snapshots, not redemptions, write lots).
        "DROP INDEX lots_expiry",
        "CREATE INDEX lots_expiry ON lots(member_id, expires_at, earned_at, lot_id)",
    ):
        conn.execute(statement)


def _migration_3(conn: sqlite3.Connection) -> None:
    """At most one prepared redemption per card, enforced by the schema.

    A redemption's card counter is the card's last one + 1, so two redemptions prepared for one
    card while the first waited for its card write got the same counter, and the next tap
    confirmed both (one card write, two vouchers). The ledger now refuses the second one; this
    partial unique index (which replaces the plain one on the same rows) makes the rule the
    schema's. Older kiosks may have left several prepared for a card: the newest stays (the one
    the next tap would have finished), the others are abandoned, releasing their points; none
    of them was ever confirmed to the member.
    """
    now = ts(dt.datetime.now(_UTC))
    released = conn.execute(
        "UPDATE intents SET state = 'abandoned', updated_at = ?"
        " WHERE state = 'prepared' AND card_uid IS NOT NULL AND EXISTS ("
        "   SELECT 1 FROM intents AS newer WHERE newer.card_uid = intents.card_uid AND newer.state = 'prepared'"
        "   AND (newer.created_at, newer.intent_id) > (intents.created_at, intents.intent_id))",
        (now,),
    ).rowcount
    if released:
        _LOG.warning("released %d redemption(s) prepared for a card that had a newer one pending", released)
    conn.execute("DROP INDEX intents_prepared_card")
    conn.execute("CREATE UNIQUE INDEX intents_prepared_card ON intents(card_uid) WHERE state = 'prepared'")


def _migration_4(conn: sqlite3.Connection) -> None:
    """Voucher write-off at the till (docs/vouchers.md): where and when, and the key directory.

    - vouchers gain state_at (stored UTC text, like every time here), state_store and state_till:
      HQ's member updates say "used at till T of store S at X", and My vouchers shows it. Rows
      from before keep NULL: HQ sent only the state then.
    - voucher_keys holds the key directory HQ signs (which kiosk keys may sign vouchers, revoked
      ones included). Only the latest version is kept: an older one could only un-revoke a key.
    """
    for column in ("state_at", "state_store", "state_till"):
        conn.execute(f"ALTER TABLE vouchers ADD COLUMN {column} TEXT")
    conn.execute(
        "CREATE TABLE voucher_keys (version INTEGER PRIMARY KEY, payload TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """The member's points history (积分明细) as HQ sent it: members gain `history`.

    JSON text of the validated items (kiosk.ledger.snapshot), newest first, or NULL when HQ sent
    none (members from before, or an HQ that does not send it). A column rather than a table: the
    list is only ever replaced whole with its member's row and read whole for one member, so one
    row read serves the screen and a snapshot writes no extra b-tree.
    """
    conn.execute("ALTER TABLE members ADD COLUMN history TEXT")


def _migration_6(conn: sqlite3.Connection) -> None:
    """Daily check-in (每日签到): once per member per store day, enforced by the key.

    - members gain checkin_last_day ("YYYY-MM-DD", the store day) and checkin_streak, as HQ last
      sent them: the streak is the fleet's, not this kiosk's.
    - checkins holds this kiosk's own check-ins, keyed by (member_id, day), so a second one the
      same day is refused by the schema too. `acked_version` is the member snapshot that told the
      kiosk HQ has the event; until then its points are a local lot (lot_id "checkin:<event id>")
      that every snapshot of the member puts back, as spends of unacknowledged redemptions are.
    """
    conn.execute("ALTER TABLE members ADD COLUMN checkin_last_day TEXT")
    conn.execute("ALTER TABLE members ADD COLUMN checkin_streak INTEGER")
    conn.execute(
        """CREATE TABLE checkins (
            member_id TEXT NOT NULL, day TEXT NOT NULL, event_id TEXT NOT NULL, points INTEGER NOT NULL,
            bonus INTEGER NOT NULL, streak INTEGER NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
            offline INTEGER NOT NULL, rules_version INTEGER NOT NULL, acked_version INTEGER,
            PRIMARY KEY (member_id, day)
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE UNIQUE INDEX checkins_event ON checkins(event_id)")


def _migration_7(conn: sqlite3.Connection) -> None:
    """A PIN before spending (kiosk.ledger.pin_lock): HQ's PIN state per member, and this kiosk's count.

    - members gain pin_hash (HQ's scrypt hash string, NULL: no PIN set) and pin_locked (1 when HQ
      says the member's redemptions are locked: after wrong PINs at any kiosk, until an operator
      unlocks them).
    - pin_failures counts this kiosk's consecutive wrong PINs per member; `locked_at` and
      `lock_event_id` say it locked the member itself and which `pin_locked` event told HQ. That
      local lock holds, whatever HQ sends, until a member update acknowledges the event: from then
      on HQ's pin_locked (and its operator's unlock) decides.
    """
    conn.execute("ALTER TABLE members ADD COLUMN pin_hash TEXT")
    conn.execute("ALTER TABLE members ADD COLUMN pin_locked INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        """CREATE TABLE pin_failures (
            member_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at TEXT, locked_at TEXT,
            lock_event_id TEXT
        ) WITHOUT ROWID"""
    )


def _migration_8(conn: sqlite3.Connection) -> None:
    """The prize wheel (幸运大转盘, kiosk.ledger.wheel).

    - members gain wheel_day ("YYYY-MM-DD") and wheel_free_used: the free spins HQ counted for the
      member on that store day across the fleet (a free spin at another kiosk counts here too).
    - wheel_spins holds this kiosk's spins with what decided each draw (`draw`, the weights in
      `weights`), the prize and what it cost; the index serves the per-day counts. A points prize
      is a local lot (lot_id "wheel:<event id>") until a member update acknowledges the event.
    """
    conn.execute("ALTER TABLE members ADD COLUMN wheel_day TEXT")
    conn.execute("ALTER TABLE members ADD COLUMN wheel_free_used INTEGER")
    conn.execute(
        """CREATE TABLE wheel_spins (
            event_id TEXT PRIMARY KEY, spin_id TEXT NOT NULL UNIQUE, member_id TEXT NOT NULL, day TEXT NOT NULL,
            free INTEGER NOT NULL, cost INTEGER NOT NULL, draw INTEGER NOT NULL, weights TEXT NOT NULL,
            prize_id TEXT NOT NULL, prize_kind TEXT NOT NULL, points INTEGER NOT NULL, voucher_id TEXT,
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL, offline INTEGER NOT NULL,
            rules_version INTEGER NOT NULL, acked_version INTEGER
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE INDEX wheel_spins_member_day ON wheel_spins(member_id, day)")


def _migration_9(conn: sqlite3.Connection) -> None:
    """The birthday gift (生日礼, kiosk.ledger.birthday): once per member and year.

    - members gain birthday_gift_year: the last year HQ recorded a claim (at any kiosk).
    - birthday_gifts holds this kiosk's claims, keyed by (member_id, year) so the schema refuses
      a second one; `claim_id` is the voucher's intent id (a repeated claim returns the voucher).
    """
    conn.execute("ALTER TABLE members ADD COLUMN birthday_gift_year INTEGER")
    conn.execute(
        """CREATE TABLE birthday_gifts (
            member_id TEXT NOT NULL, year INTEGER NOT NULL, claim_id TEXT NOT NULL UNIQUE, event_id TEXT NOT NULL,
            voucher_id TEXT NOT NULL, created_at TEXT NOT NULL, offline INTEGER NOT NULL,
            PRIMARY KEY (member_id, year)
        ) WITHOUT ROWID"""
    )


#: Migration N brings a database from user_version N-1 to N. Append only; never edit a shipped one.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply pending migrations, each in its own transaction; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"ledger database {path} has schema version {current}, this kiosk knows up to "
            f"{SCHEMA_VERSION}; install the newer kiosk software or rebuild the ledger from HQ"
        )
    for number in range(current + 1, SCHEMA_VERSION + 1):
        try:
            with transaction(conn):
                MIGRATIONS[number - 1](conn)
                # user_version is transactional in SQLite: it commits with the migration or not at all.
                conn.execute(f"PRAGMA user_version = {number}")
        except sqlite3.IntegrityError as exc:  # rows the new schema's constraints refuse: damaged data
            raise CorruptDatabase(
                path,
                f"its rows cannot be migrated to schema version {number} ({exc}); "
                f"the file was left unchanged at version {number - 1}",
            ) from exc
        _LOG.info("ledger %s migrated to schema version %d", path, number)
    return SCHEMA_VERSION
