"""bench.ledger measures its loops only once their WAL files cycle in place (like for like)."""

from __future__ import annotations

from pathlib import Path

from bench.ledger import _RawLoop, _RedemptionLoop, _uid, warm_up


def test_the_warm_up_runs_a_raw_loop_past_its_first_checkpoint(tmp_path: Path):
    loop = _RawLoop(tmp_path / "raw.db")
    done = warm_up(loop)
    # One page per commit, and SQLite checkpoints (then rewinds the WAL) at 1,000 pages.
    assert done > 1000
    size = loop.wal.stat().st_size
    loop.run(50)
    assert loop.wal.stat().st_size == size
    loop.close()


def test_the_bare_loop_writes_one_row_into_each_of_its_tables_per_commit(tmp_path: Path):
    loop = _RawLoop(tmp_path / "bare.db", tables=3)
    loop.run(5)
    counts = [loop.conn.execute(f"SELECT COUNT(*) FROM t{t}").fetchone()[0] for t in range(3)]
    assert counts == [5, 5, 5]
    loop.close()


#: A redemption commits several pages; when one straddles the WAL's previous high-water mark the
#: file still creeps by a few frames after the first checkpoint (seen: 3 frames in 50 commits).
#: Growing, it added a whole commit's frames on every commit.
FRAME = 4096 + 24


def test_the_warm_up_runs_a_redemption_loop_until_its_wal_is_rewritten_in_place(tmp_path: Path):
    loop = _RedemptionLoop(tmp_path / "ledger.db")
    warm_up(loop)
    size = loop.wal.stat().st_size
    loop.run(50)
    assert loop.wal.stat().st_size - size <= 8 * FRAME
    loop.close()


def test_the_card_path_loop_confirms_every_redemption_it_prepares(tmp_path: Path):
    loop = _RedemptionLoop(tmp_path / "card.db", card_path=True)
    loop.run(3)
    assert loop.ledger.pending_redemption_for_card(_uid(0)) is None
    assert len(loop.ledger.vouchers("M0")) == 1 and len(loop.ledger.vouchers("M2")) == 1
    loop.close()
