"""Ledger benchmark: durable redemptions/s next to raw sqlite3 insert+commit/s, and a 100k snapshot.

Both write loops run on the same disk (a temp dir next to the repository unless KIOSK_BENCH_DIR is
set), in the same run, with the same durability (WAL, synchronous=FULL), so the ratio shows what
the ledger's own work costs on top of the unavoidable fsync per commit. Then a full HQ snapshot
of 100,000 members (two point lots and one card each) is applied in one transaction.

Ends with one JSON line: redemptions_per_s, raw_commits_per_s, ratio, snapshot_100k_s.
Sizes: KIOSK_BENCH_REDEMPTIONS (default 400), KIOSK_BENCH_MEMBERS (default 100000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
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


def redemptions_per_s(path: Path, n: int) -> float:
    ledger = _open(path)
    ledger.apply_rules(1, demo_rules())
    expires = (T0 + dt.timedelta(days=365)).isoformat()
    # A year of monthly lots per member, as a regular customer accumulates them.
    lots = [{"lot_id": f"L{i}", "points": 1000, "earned_at": T0.isoformat(), "expires_at": expires} for i in range(12)]
    ledger.apply_member_snapshot(1, [{"member_id": f"M{i}", "name": "张三明", "lots": lots} for i in range(50)])
    start = time.perf_counter()
    for i in range(n):
        ledger.redeem(f"intent-{i}", f"M{i % 50}", "off-5", online=True)
    elapsed = time.perf_counter() - start
    ledger.close()
    return n / elapsed


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
        for round_ in range(2):
            raw.append(raw_commits_per_s(folder / f"raw{round_}.db", n))
            red.append(redemptions_per_s(folder / f"ledger{round_}.db", n))
        raw_rate, red_rate = max(raw), max(red)
        snap = snapshot_seconds(folder / "snapshot.db", members)
    print(f"raw sqlite3 insert+commit: {raw_rate:8.1f}/s")
    print(f"ledger durable redemption: {red_rate:8.1f}/s  (ratio {red_rate / raw_rate:.2f}, target >= 0.5)")
    print(f"full snapshot of {members} members: {snap:.2f} s (target < 5 s for 100,000)")
    print(json.dumps({"redemptions_per_s": round(red_rate, 1), "raw_commits_per_s": round(raw_rate, 1),
                      "ratio": round(red_rate / raw_rate, 3), "snapshot_100k_s": round(snap, 3),
                      "redemptions": n, "members": members}))


if __name__ == "__main__":
    main()
