"""Ledger benchmark: durable redemptions/s next to raw sqlite3 insert+commit/s, and a 100k snapshot.

Both write loops run on the same disk (a temp dir next to the repository unless KIOSK_BENCH_DIR is
set), in the same run, with the same durability (WAL, synchronous=FULL), so the ratio shows what
the ledger's own work costs on top of the unavoidable fsync per commit. Then a full HQ snapshot
of 100,000 members (two point lots and one card each) is applied in one transaction.

Why the ratio is what it is: each commit pays one fsync either way, but appends as many WAL frames
(pages) as it touched b-trees, so the pages per commit are counted too, in untimed runs with
automatic checkpoints off (WAL growth / (page size + 24-byte frame header)): for the raw insert,
the one-step redemption (`redeem`), and the kiosk's card path (prepare, then confirm after the
card write: two commits).

The two loops alternate for KIOSK_BENCH_ROUNDS rounds (default 5). `ratio` is the best
redemption rate over the best raw rate, as before; `ratio_paired_median` is the median over the
rounds of (redemption rate / raw rate of the same round), which a lucky or unlucky moment of the
shared disk moves less: the raw loop is almost all fsync, so its best round swings the most.

Ends with one JSON line: redemptions_per_s, raw_commits_per_s, ratio, ratio_paired_median,
snapshot_100k_s, and the frames per commit (raw_frames_per_commit, redemption_frames_per_commit,
card_redemption_frames).
Sizes: KIOSK_BENCH_REDEMPTIONS (default 400), KIOSK_BENCH_MEMBERS (default 100000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=TZ)


class FixedClock:
    def now(self) -> dt.datetime:
        return T0


def _open(path: Path) -> Ledger:
    return Ledger.open(path, device_id="bench-kiosk", clock=FixedClock(), tz=TZ,
                       voucher_key=Ed25519PrivateKey.generate(), offline_limits=OfflineLimits(10**9, 10**9))


def raw_commits_per_s(path: Path, n: int) -> float:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t(payload) VALUES (?)", (f"event {i}",))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def _seeded(path: Path) -> Ledger:
    ledger = _open(path)
    ledger.apply_rules(1, demo_rules())
    expires = (T0 + dt.timedelta(days=365)).isoformat()
    # A year of monthly lots per member, as a regular customer accumulates them; one card each.
    lots = [{"lot_id": f"L{i}", "points": 1000, "earned_at": T0.isoformat(), "expires_at": expires} for i in range(12)]
    ledger.apply_member_snapshot(1, [{"member_id": f"M{i}", "name": "张三明", "lots": lots,
                                      "cards": [{"uid": _uid(i).hex(), "issue_no": 1}]} for i in range(50)])
    return ledger


def _uid(i: int) -> bytes:
    return bytes([0x04, 0xBE, 0x4C, i])


def redemptions_per_s(path: Path, n: int) -> float:
    ledger = _seeded(path)
    start = time.perf_counter()
    for i in range(n):
        ledger.redeem(f"intent-{i}", f"M{i % 50}", "off-5", online=True)
    elapsed = time.perf_counter() - start
    ledger.close()
    return n / elapsed


def _frames(conn: sqlite3.Connection, wal: Path, commits: int, work: Callable[[int], None]) -> float:
    """WAL frames appended per commit while `work(i)` runs `commits` times (checkpoints off, untimed)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    before = wal.stat().st_size if wal.exists() else 0
    for i in range(commits):
        work(i)
    return (wal.stat().st_size - before) / (page + 24) / commits


def frames_per_commit(folder: Path, n: int) -> dict[str, float]:
    conn = sqlite3.connect(str(folder / "raw-frames.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)")
    raw = _frames(conn, folder / "raw-frames.db-wal", n,
                  lambda i: conn.execute("INSERT INTO t(payload) VALUES (?)", (f"event {i}",)))  # autocommit
    conn.close()
    ledger = _seeded(folder / "one-step-frames.db")
    one_step = _frames(ledger.conn, folder / "one-step-frames.db-wal", n,
                       lambda i: ledger.redeem(f"intent-{i}", f"M{i % 50}", "off-5", online=True))
    ledger.close()
    ledger = _seeded(folder / "card-frames.db")

    def card_redemption(i: int) -> None:  # two commits, as the kiosk does around the card write
        pending = ledger.prepare_redemption(f"intent-{i}", f"M{i % 50}", "off-5", _uid(i % 50), online=True)
        ledger.confirm_redemption(pending.intent_id, pending.card_counter)

    card = _frames(ledger.conn, folder / "card-frames.db-wal", n, card_redemption)
    ledger.close()
    return {"raw_frames_per_commit": round(raw, 2), "redemption_frames_per_commit": round(one_step, 2),
            "card_redemption_frames": round(card, 2)}


def snapshot_seconds(path: Path, members: int) -> float:
    ledger = _open(path)
    ledger.apply_rules(1, demo_rules())
    earned, expires = T0.isoformat(), (T0 + dt.timedelta(days=365)).isoformat()
    snapshot = [
        {"member_id": f"M{i:07d}", "name": "张三明", "birthday": "1990-05-17", "balance_fen": i, "spend_fen": i * 7,
         "cards": [{"uid": i.to_bytes(4, "big").hex(), "issue_no": 1, "status": "active"}],
         "lots": [{"lot_id": "a", "points": 100, "earned_at": earned, "expires_at": expires},
                  {"lot_id": "b", "points": 250, "earned_at": earned, "expires_at": expires}]}
        for i in range(members)
    ]
    start = time.perf_counter()
    ledger.apply_member_snapshot(1, snapshot, (), full=True)
    elapsed = time.perf_counter() - start
    assert ledger.member_count() == members
    ledger.close()
    return elapsed


def main() -> None:
    n = int(os.environ.get("KIOSK_BENCH_REDEMPTIONS", "400"))
    members = int(os.environ.get("KIOSK_BENCH_MEMBERS", "100000"))
    base = Path(os.environ.get("KIOSK_BENCH_DIR", Path(__file__).resolve().parent))
    with tempfile.TemporaryDirectory(dir=base, prefix=".bench-ledger-") as tmp:
        folder = Path(tmp)
        # Interleave the two loops so a noisy neighbour on the shared disk hits both alike.
        raw, red = [], []
        for round_ in range(int(os.environ.get("KIOSK_BENCH_ROUNDS", "5"))):
            raw.append(raw_commits_per_s(folder / f"raw{round_}.db", n))
            red.append(redemptions_per_s(folder / f"ledger{round_}.db", n))
        raw_rate, red_rate = max(raw), max(red)
        paired = statistics.median(r / w for r, w in zip(red, raw))
        frames = frames_per_commit(folder, min(n, 200))
        snap = snapshot_seconds(folder / "snapshot.db", members)
    print(f"raw sqlite3 insert+commit: {raw_rate:8.1f}/s")
    print(f"ledger durable redemption: {red_rate:8.1f}/s  (ratio {red_rate / raw_rate:.2f}, target >= 0.5; "
          f"median of the rounds' ratios {paired:.2f})")
    print(f"WAL frames per commit: raw insert {frames['raw_frames_per_commit']}, redemption "
          f"{frames['redemption_frames_per_commit']}, card redemption (prepare + confirm) "
          f"{frames['card_redemption_frames']}")
    print(f"full snapshot of {members} members: {snap:.2f} s (target < 5 s for 100,000)")
    print(json.dumps({"redemptions_per_s": round(red_rate, 1), "raw_commits_per_s": round(raw_rate, 1),
                      "ratio": round(red_rate / raw_rate, 3), "ratio_paired_median": round(paired, 3),
                      "snapshot_100k_s": round(snap, 3), **frames,
                      "redemptions": n, "members": members}))


if __name__ == "__main__":
    main()
