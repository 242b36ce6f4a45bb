"""Storage: durability pragmas, migrations, and refusing a corrupt database with a way out."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.ledger import CorruptDatabase, Ledger, SchemaTooNew
from kiosk.ledger.db import SCHEMA_VERSION
from tests.ledger.conftest import member


def test_database_runs_in_wal_mode_with_full_sync(open_ledger):
    ledger = open_ledger()
    assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_schema_version_is_recorded(open_ledger):
    ledger = open_ledger()
    assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_data_and_does_not_migrate_again(open_ledger, ledger, tmp_path):
    ledger.apply_member_snapshot(1, [member("M1", points=100)])
    ledger.close()
    again = open_ledger()
    assert again.member_view("M1").points == 100


def test_garbage_file_is_refused_with_rebuild_instructions(open_ledger, tmp_path):
    (tmp_path / "ledger.db").write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(CorruptDatabase) as info:
        open_ledger()
    assert "ledger.db" in str(info.value) and "HQ" in str(info.value)


def test_damaged_pages_are_refused(open_ledger, ledger, tmp_path):
    ledger.apply_member_snapshot(1, [member(f"M{i}", points=10) for i in range(2000)])
    ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ledger.close()
    path = tmp_path / "ledger.db"
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page + 100, len(data) - page, 7 * page):  # scribble over many pages, keep the header
        data[offset : offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase):
        open_ledger()


def test_quarantine_moves_the_file_aside_and_a_fresh_ledger_opens(open_ledger, tmp_path):
    path = tmp_path / "ledger.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(CorruptDatabase):
        open_ledger()
    moved = Ledger.quarantine(path)
    assert moved.exists() and not path.exists()
    fresh = open_ledger()
    assert fresh.member_snapshot_version() is None and fresh.rules_version() is None


def test_database_from_newer_software_is_refused(open_ledger, tmp_path):
    conn = sqlite3.connect(tmp_path / "ledger.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew):
        open_ledger()
