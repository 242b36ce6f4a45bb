"""The chaos suite, reduced for CI: the real kiosk, Mosquitto and HQ tool under a few faults of
each kind (SIGKILL, SIGSTOP past the watchdog, broker killed, broker down for a few seconds, broker
frozen just past the kiosk's keepalive limit), and a forger with HQ's broker rights but not its
signing key (a few seconds of stolen events acked with forgeries, retained forged and replayed
commands).

The full run (`python -m bench.chaos`, minutes-long partitions) is in docs/benchmarks.md. The
checker itself is tested here too, on histories that are wrong on purpose, so a passing chaos
run cannot be a checker that sees nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.chaos import History, LinkWatch, check
from sync.hq.store import HqStore

REPO = Path(__file__).resolve().parents[2]


def _hq_with(tmp_path: Path, vouchers: list[tuple[int, str, str, str]]) -> Path:
    """An HQ database holding redemptions (seq, event_id, voucher_id, intent_id) of device K1."""
    path = tmp_path / "hq.db"
    HqStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        for seq, event_id, voucher, intent in vouchers:
            conn.execute(
                "INSERT INTO events VALUES ('K1', ?, ?, 'redemption', '2024-05-01T09:30:00+08:00', 0, 0, ?, "
                "'2024-05-01T09:30:01+08:00')",
                (seq, event_id, json.dumps({"voucher_id": voucher, "intent_id": intent})),
            )
    conn.close()
    return path


def _ledger_with(tmp_path: Path, vouchers: list[str]) -> Path:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE vouchers (voucher_id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO vouchers VALUES (?)", [(v,) for v in vouchers])
    conn.close()
    return path


def test_checker_passes_a_history_where_every_confirmed_voucher_arrived_once(tmp_path):
    history = History(confirmed={"V1": "i1", "V2": "i2"}, indeterminate={"i3"})
    hq = _hq_with(tmp_path, [(1, "e1", "V1", "i1"), (2, "e2", "V2", "i2"), (3, "e3", "V3", "i3")])
    result = check(history, hq, _ledger_with(tmp_path, ["V1", "V2", "V3"]))
    assert (result["lost"], result["duplicated"], result["unexpected"]) == (0, 0, 0)
    assert result["indeterminate_at_hq"] == 1


def test_checker_counts_lost_duplicated_and_unexpected_vouchers(tmp_path):
    # V2 confirmed but never reached HQ; V1 stored under two sequence numbers; V9 nobody confirmed
    history = History(confirmed={"V1": "i1", "V2": "i2"}, failed={"i9": "redemption_failed"})
    hq = _hq_with(tmp_path, [(1, "e1", "V1", "i1"), (2, "e1", "V1", "i1"), (3, "e9", "V9", "i9")])
    result = check(history, hq, _ledger_with(tmp_path, ["V1", "V2"]))
    assert result["lost_ids"] == ["V2"]
    assert result["duplicated"] == 2  # the voucher and its event id, each stored twice
    assert result["unexpected_ids"] == ["V9"]
    assert result["failed_but_at_hq"] == ["V9"]
    assert result["ledger_vouchers_not_at_hq"] == 1


def test_link_watch_flags_a_kiosk_still_online_past_the_notice_bound():
    watch = LinkWatch(notice_bound_s=0.0)  # any answer during the freeze is past the bound
    watch.freeze()
    asked = time.monotonic()
    watch.observe(asked, time.monotonic(), True)
    watch.thaw()
    assert (watch.online_while_frozen, watch.noticed) == (1, 0)


def test_link_watch_counts_offline_answers_and_ignores_those_that_came_back_after_the_thaw():
    watch = LinkWatch(notice_bound_s=0.0)
    watch.freeze()
    asked = time.monotonic()
    watch.observe(asked, time.monotonic(), False)  # noticed
    watch.observe(asked, time.monotonic() + 60, True)  # answered after the thaw: may be online again
    watch.observe(asked, time.monotonic(), None)  # a screen without the online mark
    watch.thaw()
    assert (watch.online_while_frozen, watch.noticed) == (0, 1)


@pytest.mark.slow
@pytest.mark.integration
def test_quick_chaos_run_loses_doubles_and_invents_no_redemption(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--quick", "--workdir", str(tmp_path / "run")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no figures; stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    figures = json.loads(lines[-1])
    assert figures["confirmed"] > 0
    assert (figures["lost"], figures["duplicated"], figures["unexpected"]) == (0, 0, 0), figures
    assert figures["outbox_after"] == 0 and figures["ledger_integrity"] == "ok", figures
    assert all(
        figures["faults_by_kind"].get(kind, 0) >= 2
        for kind in ("kill_kiosk", "pause_kiosk", "kill_broker", "partition", "freeze_broker")
    ), figures
    assert figures["online_while_frozen"] == 0, figures  # the kiosk noticed each frozen broker itself
    assert figures["confirmed_while_frozen"] > 0, figures  # and went on redeeming meanwhile
    assert figures["watchdog_kills"] >= figures["faults_by_kind"]["pause_kiosk"], figures
    # the forger forged; nothing it forged was applied, and the kiosk said it had seen forged acks
    assert all(figures["faults_by_kind"].get(kind, 0) >= 2 for kind in ("forge_acks", "retained_commands")), figures
    assert figures["forged_acks_sent"] > 0 and figures["retained_commands_sent"] > 0, figures
    assert figures["forged_commands_applied"] == 0, figures
    reported = figures["kiosk_unverified_acks"] + figures["security_events_at_hq"].get("security.unverified_ack", 0)
    assert reported > 0, figures
    assert result.returncode == 0, result.stdout[-3000:]
