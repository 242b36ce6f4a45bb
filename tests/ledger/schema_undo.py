"""Take a ledger back to an older schema, as a kiosk of that version left it (for upgrade tests).

One undo script per migration, newest first: a new migration adds its undo here, and every
upgrade test keeps working without knowing the migrations after the one it is about.
"""

from __future__ import annotations

import sqlite3

_UNDO = {
    9: "DROP TABLE birthday_gifts; ALTER TABLE members DROP COLUMN birthday_gift_year;",
    8: "DROP TABLE wheel_spins; ALTER TABLE members DROP COLUMN wheel_day;"
    " ALTER TABLE members DROP COLUMN wheel_free_used;",
    7: "DROP TABLE pin_failures; ALTER TABLE members DROP COLUMN pin_hash; ALTER TABLE members DROP COLUMN pin_locked;",
    6: "DROP TABLE checkins; ALTER TABLE members DROP COLUMN checkin_last_day;"
    " ALTER TABLE members DROP COLUMN checkin_streak;",
    5: "ALTER TABLE members DROP COLUMN history;",
    4: "ALTER TABLE vouchers DROP COLUMN state_at; ALTER TABLE vouchers DROP COLUMN state_store;"
    " ALTER TABLE vouchers DROP COLUMN state_till; DROP TABLE voucher_keys;",
    3: "DROP INDEX intents_prepared_card;"
    " CREATE INDEX intents_prepared_card ON intents(card_uid, created_at) WHERE state = 'prepared';",
}


def undo_migrations_after(conn: sqlite3.Connection, version: int) -> None:
    """Undo every migration above `version` (at least 2) and set user_version to it."""
    assert version >= 2, "migrations 1 and 2 rebuild tables: build such ledgers from their own SQL"
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(current, version, -1):
        conn.executescript(_UNDO[number])
    conn.execute(f"PRAGMA user_version = {version}")
