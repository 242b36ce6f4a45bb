"""The chaos suite, reduced for CI: the real kiosk, Mosquitto and HQ tool under a few faults of
each kind (SIGKILL, SIGSTOP past the watchdog, broker killed, broker down for a few seconds, broker
frozen just past the kiosk's keepalive limit), and a forger with HQ's broker rights but not its
signing key (a few seconds of stolen events acked with forgeries, retained forged and replayed
commands). The shoppers redeem, check in, spin the wheel, claim birthday gifts and lock
themselves out with wrong PINs; each of those event types is checked exactly once at HQ.

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

from bench.chaos import History, LinkWatch, check, check_events
from sync.hq.store import HqStore

REPO = Path(__file__).resolve().parents[2]


def _hq_with(tmp_path: Path, vouchers: list[tuple[int, str, str, str]]) -> Path:
    """An HQ database holding redemptions (seq, event_id, voucher_id, intent_id) of device K1."""
    path = tmp_path / "hq.db"
    HqStore(path).close()
    _add_events(
        path,
        [(seq, event_id, "redemption", {"voucher_id": v, "intent_id": i}) for seq, event_id, v, i in vouchers],
    )
    return path


def _ledger_with(tmp_path: Path, vouchers: list[str], events: dict[str, list[str]] | None = None) -> Path:
    """A kiosk ledger holding `vouchers` and, per table, the event ids of its other events."""
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    events = events or {}
    with conn:
        conn.execute("CREATE TABLE vouchers (voucher_id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO vouchers VALUES (?)", [(v,) for v in vouchers])
        for table in ("checkins", "wheel_spins", "birthday_gifts"):
            conn.execute(f"CREATE TABLE {table} (event_id TEXT PRIMARY KEY)")
            conn.executemany(f"INSERT INTO {table} VALUES (?)", [(e,) for e in events.get(table, [])])
        conn.execute("CREATE TABLE pin_failures (member_id TEXT PRIMARY KEY, lock_event_id TEXT)")
        conn.executemany(
            "INSERT INTO pin_failures VALUES (?, ?)", [(f"M{e}", e) for e in events.get("pin_failures", [])]
        )
    conn.close()
    return path


def _add_events(hq: Path, events: list[tuple[int, str, str, dict]]) -> None:
    """Events (seq, event_id, type, payload) of device K1 into an HQ database."""
    conn = sqlite3.connect(hq)
    with conn:
        for seq, event_id, kind, payload in events:
            conn.execute(
                "INSERT INTO events VALUES ('K1', ?, ?, ?, '2024-05-01T09:30:00+08:00', 0, 0, ?, "
                "'2024-05-01T09:30:01+08:00')",
                (seq, event_id, kind, json.dumps(payload)),
            )
    conn.close()


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


def test_checker_passes_each_event_type_when_every_confirmed_event_arrived_once(tmp_path):
    history = History()
    history.events_confirmed.update(
        checkin={"M1/2024-05-01"}, wheel_spin={"s1"}, birthday_gift={"M1"}, pin_locked={"M3"}
    )
    history.events_indeterminate["wheel_spin"].add("s2")  # no answer; it did happen
    hq = _hq_with(tmp_path, [])
    _add_events(
        hq,
        [
            (1, "c1", "checkin", {"member_id": "M1", "day": "2024-05-01"}),
            (2, "w1", "wheel_spin", {"spin_id": "s1", "member_id": "M1", "voucher": {"voucher_id": "W1"}}),
            (3, "w2", "wheel_spin", {"spin_id": "s2", "member_id": "M1"}),
            (4, "b1", "birthday_gift", {"member_id": "M1", "voucher": {"voucher_id": "B1"}}),
            (5, "p3", "pin_locked", {"member_id": "M3", "failures": 5}),
        ],
    )
    ledger = _ledger_with(
        tmp_path,
        ["W1", "B1"],
        {"checkins": ["c1"], "wheel_spins": ["w1", "w2"], "birthday_gifts": ["b1"], "pin_failures": ["p3"]},
    )
    result = check(history, hq, ledger)
    by_type = result["events_by_type"]
    for kind in ("checkin", "wheel_spin", "birthday_gift", "pin_locked"):
        assert (by_type[kind]["lost"], by_type[kind]["duplicated"], by_type[kind]["unexpected"]) == (0, 0, 0), kind
        assert by_type[kind]["ledger_not_at_hq"] == 0, kind
    assert by_type["wheel_spin"]["indeterminate_at_hq"] == 1
    # the prize and gift vouchers in the ledger are at HQ, in their events
    assert (result["ledger_vouchers_not_at_hq"], result["hq_vouchers_not_in_ledger"]) == (0, 0)


def test_checker_counts_lost_duplicated_and_unexpected_events_of_each_type(tmp_path):
    history = History()
    history.events_confirmed.update(
        checkin={"M1/2024-05-01", "M2/2024-05-01"}, wheel_spin={"s1"}, birthday_gift={"M1"}, pin_locked={"M3"}
    )
    history.events_indeterminate["pin_locked"].add("M4")
    hq = _hq_with(tmp_path, [])
    _add_events(
        hq,
        [
            (1, "c1", "checkin", {"member_id": "M1", "day": "2024-05-01"}),  # M2's check-in is lost
            (2, "w1", "wheel_spin", {"spin_id": "s1"}),
            (3, "w1b", "wheel_spin", {"spin_id": "s1"}),  # the same spin stored twice
            (4, "w9", "wheel_spin", {"spin_id": "s9"}),  # a spin nobody made
            (5, "b1", "birthday_gift", {"member_id": "M1"}),
            (6, "b1", "birthday_gift", {"member_id": "M1"}),  # the same event id again
            (7, "p4", "pin_locked", {"member_id": "M4"}),  # no answer, but it happened; M3's lock is lost
        ],
    )
    ledger = _ledger_with(tmp_path, [], {"checkins": ["c1", "c2"], "pin_failures": ["p3", "p4"]})
    by_type, _ = check_events(history, hq, ledger)
    assert by_type["checkin"]["lost_keys"] == ["M2/2024-05-01"] and by_type["checkin"]["ledger_not_at_hq"] == 1
    assert by_type["wheel_spin"]["duplicated"] == 1 and by_type["wheel_spin"]["unexpected_keys"] == ["s9"]
    assert by_type["birthday_gift"]["duplicated"] == 2  # by member and by event id
    assert by_type["pin_locked"]["lost_keys"] == ["M3"] and by_type["pin_locked"]["ledger_not_at_hq"] == 1
    assert (by_type["pin_locked"]["unexpected"], by_type["pin_locked"]["indeterminate_at_hq"]) == (0, 1)


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
def test_quick_chaos_run_loses_doubles_and_invents_no_event(tmp_path):
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
    # every event type the kiosk sends, each checked on its own
    for kind in ("redemption", "checkin", "wheel_spin", "birthday_gift", "pin_locked"):
        assert figures["lost_by_type"][kind] == figures["duplicated_by_type"][kind] == 0, (kind, figures)
        assert figures["unexpected_by_type"][kind] == 0, (kind, figures)
    assert all(figures["confirmed_by_type"][kind] > 0 for kind in ("checkin", "wheel_spin", "birthday_gift")), figures
    assert figures["events_by_type"]["pin_locked"]["at_hq"] > 0, figures  # a lock-out happened
    assert figures["ledger_events_not_at_hq"] == 0, figures
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
