"""`python -m bench.pin`: what a member waits for their PIN to be checked at the kiosk.

Verifies a PIN against a hash in HQ's format (kiosk.ledger.pin_kdf: scrypt n=2^14, r=8, p=1,
16 MiB) `--runs` times, right and wrong PINs alternating (the kiosk does the same work for both),
and prints one JSON line: `pin_verify_ms` (median and p95), the parameters and memory, the machine.
The target is under 300 ms on this machine while staying memory-hard; a Pi 4 is roughly 3-5x
slower per core than a desktop, which the figure leaves room for.

Also the ledger's whole `check_pin` (verify plus counting the outcome in a durable transaction)
is timed, since that is what the keypad's OK waits for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.kiosk import percentile
from bench.machine import describe
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.pin_kdf import DEFAULT_N, DEFAULT_P, DEFAULT_R, hash_pin, parse_pin_hash, verify_pin


def _summary(samples: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(samples), 1), "p95": round(percentile(samples, 95), 1)}


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def _ledger_check_ms(runs: int, stored: str) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(
            Path(tmp) / "ledger.db", device_id="bench", clock=_Clock(), tz=ZoneInfo("Asia/Shanghai"),
            voucher_key=None, offline_limits=OfflineLimits(points_per_day=1, redemptions_per_day=1),
        )  # fmt: skip
        try:
            ledger.apply_rules(1, demo_rules() | {"pin": {"required": "always", "max_failures": 20}})
            member = {"member_id": "M1", "name": "张三", "pin_hash": stored}
            ledger.apply_member_snapshot(1, [member], full=True)
            samples = []
            for i in range(runs):
                start = time.perf_counter()
                # A right PIN every other time keeps the count below the lock.
                ledger.check_pin("M1", "482916" if i % 2 else "000000")
                samples.append((time.perf_counter() - start) * 1000)
            return samples
        finally:
            ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 runs")
    args = parser.parse_args()
    runs = 10 if args.quick else max(3, args.runs)
    stored = hash_pin("482916")
    parsed = parse_pin_hash(stored)
    verify_pin("482916", parsed)  # warm-up: OpenSSL's first scrypt maps its memory
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        verify_pin("482916" if i % 2 else "000000", parsed)
        samples.append((time.perf_counter() - start) * 1000)
    hash_ms = []
    for _ in range(max(3, runs // 4)):
        start = time.perf_counter()
        hash_pin("482916")
        hash_ms.append((time.perf_counter() - start) * 1000)
    figures = {
        "pin_verify_ms": _summary(samples),
        "ledger_check_pin_ms": _summary(_ledger_check_ms(runs, stored)),
        "hq_hash_pin_ms": _summary(hash_ms),
        "kdf": {"name": "scrypt", "n": DEFAULT_N, "r": DEFAULT_R, "p": DEFAULT_P},
        "memory_mib": 128 * DEFAULT_N * DEFAULT_R // 2**20,
        "runs": runs,
        "target_ms": 300,
        "machine": describe(),
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
