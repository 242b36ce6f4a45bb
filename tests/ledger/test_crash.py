"""Crash safety: a child redeeming in a loop is SIGKILLed at random moments, many times.

Afterwards the database passes integrity_check, and ledger, vouchers and outbox agree: every
redemption the child saw confirmed is there exactly once, nothing is duplicated, and the points
deducted equal the vouchers issued. KIOSK_CRASH_KILLS sets the number of kills (default 20).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.ledger.demo import demo_rules
from tests.ledger.conftest import member

KILLS = int(os.environ.get("KIOSK_CRASH_KILLS", "20"))
START_POINTS = 10_000_000
COST = 500  # off-5
ROOT = Path(__file__).resolve().parents[2]


def _run_child_and_kill(path: Path, start: int, delay: float) -> list[int]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.crash_child", str(path), str(start)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
    assert "Traceback" not in err, err
    return [int(line.split()[1]) for line in out.splitlines() if line.startswith("ok ")]


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(open_ledger, tmp_path):
    path = tmp_path / "ledger.db"
    setup = open_ledger(path=path)
    setup.apply_rules(1, demo_rules())
    setup.apply_member_snapshot(1, [member("M1", points=START_POINTS)])
    setup.close()

    rng = random.Random(1234)
    confirmed: set[int] = set()
    next_start = 0
    for _ in range(KILLS):
        done = _run_child_and_kill(path, next_start, rng.uniform(0.0, 0.3))
        confirmed.update(done)
        # Restart from the last confirmed intent + 1: the in-flight one (maybe committed, maybe
        # not) is retried with the same intent id and must not produce a second voucher.
        next_start = max(confirmed, default=-1) + 1

    ledger = open_ledger(path=path)  # runs integrity_check; raises CorruptDatabase if it fails
    conn = ledger.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    vouchers = dict(conn.execute("SELECT intent_id, voucher_id FROM vouchers").fetchall())
    assert confirmed <= {int(i.split("-")[1]) for i in vouchers}, "a confirmed redemption was lost"
    n_vouchers = conn.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0]
    assert n_vouchers == len(vouchers)  # one voucher per intent (intent_id is unique anyway)
    assert conn.execute("SELECT COUNT(*) FROM local_events").fetchone()[0] == n_vouchers
    assert conn.execute("SELECT COUNT(*) FROM outbox WHERE type = 'redemption'").fetchone()[0] == n_vouchers
    # A confirmed intent is recorded by its voucher alone: never also open.
    assert conn.execute("SELECT COUNT(*) FROM intents JOIN vouchers USING (intent_id)").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(DISTINCT event_id) FROM outbox").fetchone()[0] == n_vouchers
    seqs = [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert seqs == list(range(1, n_vouchers + 1))
    assert ledger.member_view("M1").points == START_POINTS - COST * n_vouchers
    assert len(confirmed) > 0
