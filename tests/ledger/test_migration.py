"""Schema migrations: a ledger written by the schema-1 code opens with today's code and loses nothing.

The schema-1 file is tests/ledger/data/ledger_schema1.sql, dumped by make_schema1_ledger.py at the
last schema-1 commit, together with what the ledger's API said about it then (..._expected.json).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import CorruptDatabase, Ledger, OfflineLimits, verify_voucher_code
from kiosk.ledger.db import SCHEMA_VERSION
from tests.ledger.data.make_schema1_ledger import DEVICE, KEY_SEED, TZ, UID2, expected_views

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "ledger_schema1_expected.json").read_text(encoding="utf-8"))
#: Tables schema 2 rebuilt, with the columns they had in schema 1 (intents: see below).
REBUILT = {
    "local_events": "event_id, member_id, kind, points, created_at, rules_version, intent_id, voucher_id, offline,"
    " acked_version",
    "spends": "event_id, member_id, lot_id, points",
    "vouchers": "voucher_id, serial, member_id, reward_id, reward_name, value_fen, cost_points, code, short_code,"
    " issued_at, expires_at, state, offline, intent_id, event_id, rules_version",
}
#: Tables a later migration only added columns to: their old columns keep every value, the new ones are NULL.
WIDENED = {
    "members": (
        "member_id, name, birthday, balance_fen, spend_fen, growth_points, tier_floor, tier_override, snapshot_version",
        "history",  # schema 5: HQ's points history; none until HQ sends one
    ),
}
UNTOUCHED = ("meta", "rules", "lots", "cards", "denylist", "outbox")


class Clock:
    def __init__(self) -> None:
        self.current = dt.datetime.fromisoformat(EXPECTED["clock"])

    def now(self) -> dt.datetime:
        return self.current


def write_schema1_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "ledger_schema1.sql").read_text(encoding="utf-8"))
    conn.execute("PRAGMA user_version = 1")
    conn.close()


def rows(conn: sqlite3.Connection, table: str, columns: str = "*") -> list[tuple]:
    return sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)


@pytest.fixture
def schema1(tmp_path: Path) -> Path:
    """A schema-1 ledger file, and an untouched copy of it next to it for comparison."""
    write_schema1_file(tmp_path / "ledger.db")
    write_schema1_file(tmp_path / "original.db")
    return tmp_path / "ledger.db"


@pytest.fixture
def open_migrated(schema1: Path):
    opened: list[Ledger] = []

    def _open() -> Ledger:
        ledger = Ledger.open(
            schema1,
            device_id=DEVICE,
            clock=Clock(),
            tz=TZ,
            voucher_key=Ed25519PrivateKey.from_private_bytes(KEY_SEED),
            offline_limits=OfflineLimits(points_per_day=5000, redemptions_per_day=3),
        )
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        ledger.close()


def test_fixture_is_a_schema1_file(schema1):
    conn = sqlite3.connect(schema1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0] == 5


def test_schema1_ledger_is_migrated_to_the_current_version(open_migrated):
    ledger = open_migrated()
    assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert ledger.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert ledger.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_every_view_of_the_migrated_ledger_is_what_schema1_showed(open_migrated):
    ledger = open_migrated()
    got = json.loads(json.dumps(expected_views(ledger), ensure_ascii=False))
    assert got == {k: v for k, v in EXPECTED.items() if k != "clock"}


def test_every_row_of_the_rebuilt_tables_survives(open_migrated, schema1):
    ledger = open_migrated()
    before = sqlite3.connect(schema1.with_name("original.db"))
    for table, columns in REBUILT.items():
        assert rows(ledger.conn, table, columns) == rows(before, table, columns), table
    for table in UNTOUCHED:
        assert rows(ledger.conn, table) == rows(before, table), table
    for table, (columns, added) in WIDENED.items():
        assert rows(ledger.conn, table, columns) == rows(before, table, columns), table
        assert {row[0] for row in rows(ledger.conn, table, added)} <= {None}, table


INTENT = (
    "intent_id, member_id, reward_id, card_uid, online, state, card_counter, cost_points, rules_version,"
    " created_at, updated_at"
)


def test_open_intents_survive_as_they_were(open_migrated, schema1):
    ledger = open_migrated()
    before = sqlite3.connect(schema1.with_name("original.db"))
    assert rows(ledger.conn, "intents", INTENT) == rows(before, "intents WHERE state != 'confirmed'", INTENT)
    assert {r[0] for r in ledger.conn.execute("SELECT state FROM intents")} == {"prepared", "abandoned"}


def test_confirmed_intents_are_recorded_by_their_vouchers_with_nothing_lost(open_migrated, schema1):
    ledger = open_migrated()
    before = sqlite3.connect(schema1.with_name("original.db"))
    confirmed = rows(before, "intents WHERE state = 'confirmed'", INTENT + ", voucher_id")
    recorded = rows(
        ledger.conn,
        "vouchers v JOIN local_events e ON e.event_id = v.event_id",
        "v.intent_id, v.member_id, v.reward_id, v.card_uid, 1 - v.offline, 'confirmed', v.card_counter,"
        " v.cost_points, v.prepared_rules_version, v.prepared_at, e.created_at, v.voucher_id",
    )
    assert len(confirmed) == 5 and recorded == confirmed


def test_order_that_the_rowid_kept_is_carried_over(open_migrated, schema1):
    ledger = open_migrated()
    before = sqlite3.connect(schema1.with_name("original.db"))
    assert (
        ledger.conn.execute("SELECT event_id FROM local_events ORDER BY seq").fetchall()
        == before.execute("SELECT event_id FROM local_events ORDER BY rowid").fetchall()
    )
    assert (
        ledger.conn.execute("SELECT event_id, lot_id, points FROM spends ORDER BY event_id, part").fetchall()
        == before.execute("SELECT event_id, lot_id, points FROM spends ORDER BY event_id, rowid").fetchall()
    )


def test_stored_voucher_codes_still_verify_and_are_found_by_id(open_migrated):
    ledger = open_migrated()
    public = {DEVICE: Ed25519PrivateKey.from_private_bytes(KEY_SEED).public_key()}
    for member in EXPECTED["members"].values():
        for voucher in member["vouchers"]:
            assert verify_voucher_code(voucher["code"], public, Clock().now()).ok
            assert ledger.voucher(voucher["voucher_id"]).code == voucher["code"]


def test_prepared_intent_from_schema1_is_confirmed_after_the_migration(open_migrated):
    ledger = open_migrated()
    pending = ledger.pending_redemption_for_card(UID2)
    voucher = ledger.confirm_redemption(pending.intent_id, pending.card_counter)
    assert voucher.voucher_id == f"{DEVICE}-6"  # serials 1..5 were issued under schema 1
    assert ledger.card_state(UID2).last_counter == pending.card_counter
    assert ledger.member_view("M2").points == EXPECTED["members"]["M2"]["points"] - pending.cost_points


def test_outbox_numbers_continue_after_schema1_ones_even_when_all_were_acknowledged(open_migrated):
    ledger = open_migrated()
    ledger.outbox_ack([e.event_id for e in ledger.outbox_pending(100)])  # seq 8 was the last one issued
    ledger.redeem("new", "M2", "off-5", online=True)
    assert [e.seq for e in ledger.outbox_pending(10)] == [9]


def test_voucher_serials_never_fall_below_the_schema1_counter(open_migrated):
    ledger = open_migrated()
    # Not something the ledger does (vouchers are never deleted); it shows the counter still counts.
    ledger.conn.execute("DELETE FROM vouchers WHERE serial = 5")
    ledger.redeem("new", "M2", "off-5", online=True)
    assert ledger.vouchers("M2")[0].voucher_id == f"{DEVICE}-6"


def test_migrated_ledger_keeps_its_promises_after_a_restart(open_migrated):
    ledger = open_migrated()
    first = ledger.redeem("again", "M1", "gift-wrap", online=True)
    ledger.close()
    reopened = open_migrated()
    assert reopened.redeem("again", "M1", "gift-wrap", online=True) == first
    assert reopened.conn.execute("SELECT COUNT(*) FROM vouchers WHERE intent_id = 'again'").fetchone()[0] == 1


def test_rows_the_new_schema_refuses_leave_the_file_unchanged_with_a_clear_error(open_migrated, schema1):
    conn = sqlite3.connect(schema1)
    conn.execute("UPDATE vouchers SET voucher_id = 'kiosk-01-99' WHERE serial = 3")  # id and serial disagree
    conn.commit()
    conn.close()
    with pytest.raises(CorruptDatabase, match="schema version 2"):
        open_migrated()
    conn = sqlite3.connect(schema1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0] == 5
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= set(REBUILT)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_v1'").fetchall() == []


def test_confirmed_intent_from_schema1_replays_to_its_voucher(open_migrated):
    ledger = open_migrated()
    depth = ledger.outbox_depth()
    again = ledger.redeem("i1", "M1", "off-5", online=True)
    assert again.voucher_id == f"{DEVICE}-1" and ledger.outbox_depth() == depth
    pending = ledger.prepare_redemption("i2", "M1", "off-10", bytes.fromhex("04a1b2c3"), online=True)
    assert (pending.voucher_id, pending.card_counter) == (f"{DEVICE}-2", 4)
    assert pending.created_at == dt.datetime(2026, 3, 1, 10, 1, tzinfo=TZ)
