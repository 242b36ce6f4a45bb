"""bench.kiosk at toy sizes: the real kiosk process and the baseline both start, take taps, idle and
stop, and the run ends with one JSON line of figures under the names the issue gives.

No figure is compared with a target here (timings belong to `python -m bench.kiosk`, see
docs/benchmarks.md); the test only proves the benchmark measures something from both processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.kiosk import percentile, start_kiosk, write_kiosk_config
from bench.notify_sink import NotifySink, is_ready, shows
from bench.procstat import context_switches, cpu_seconds, memory_mb

REPO = Path(__file__).resolve().parents[2]
ISSUE_KEYS = (
    "startup_s",
    "idle_cpu_pct",
    "idle_cpu_pct_baseline",
    "rss_mb",
    "tap_to_screen_ms_p50",
    "tap_to_screen_ms_p95",
)


@pytest.mark.integration
def test_quick_run_ends_with_one_json_line_of_the_issues_figures():
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "KIOSK_SIM_CONTROL")}
    result = subprocess.run(
        # Instruction counts (callgrind) are left out here: they take a minute (bench.callgrind's
        # parsing has its own test, tests/bench/test_callgrind.py).
        [
            sys.executable,
            "-m",
            "bench.kiosk",
            "--taps",
            "3",
            "--idle-seconds",
            "0.5",
            "--warm-starts",
            "1",
            "--no-instructions",
            "--presence-hold-s",
            "1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    figures = json.loads(lines[-1])
    for key in ISSUE_KEYS:
        assert isinstance(figures[key], (int, float)), (key, figures)
        assert figures[key] >= 0, (key, figures)
    assert figures["taps"] == 3 and figures["taps_baseline"] == 3
    assert figures["taps_failed"] == 0 and figures["taps_failed_baseline"] == 0
    assert figures["rss_mb"] > 0 and figures["rss_mb_baseline"] > 0
    assert sum(1 for line in lines if line.startswith("{")) == 1
    # The floor under tap-to-screen for the configured poll interval: a poll wait plus the exchange.
    assert figures["poll_interval_ms"] < figures["tap_floor_ms_p95"] < figures["poll_interval_ms"] + 100
    assert figures["tap_exchange_ms"] > 0
    assert figures["idle_instructions_per_s"] is None and "not measured" in figures["instructions_note"]
    # Idle twice: nobody near (the poll backed off, with the simulation's presence sensor), somebody near.
    assert figures["idle_cpu_pct_near"] >= 0 and figures["idle_wakeups_per_s_near"] > 0


@pytest.mark.integration
def test_the_kiosk_process_loads_neither_sdl_mixer_nor_pkg_resources(tmp_path):
    # Both cost resident memory for nothing a silent kiosk uses (app/pygame_lean.py).
    write_kiosk_config(tmp_path)
    kiosk = start_kiosk(tmp_path)
    try:
        kiosk.wait_ready()
        maps = Path(f"/proc/{kiosk.pid}/maps").read_text()
    finally:
        assert kiosk.stop() == 0
    assert "libSDL2_mixer" not in maps and "mixer.cpython" not in maps
    assert "pygame" in maps  # the display really was opened through pygame


def test_cpu_and_memory_of_a_process_are_read_from_proc():
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) > before
    memory = memory_mb(os.getpid())
    assert 0 < memory["VmRSS"] <= memory["VmHWM"]
    switches = context_switches(os.getpid())
    time.sleep(0.01)  # a sleep is a voluntary switch
    assert context_switches(os.getpid()) > switches


def test_notify_sink_stamps_messages_and_matches_status_screens(tmp_path):
    with NotifySink(tmp_path / "notify.sock") as sink:
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        since = sink.mark()
        sent_at = time.monotonic()
        sender.sendto(b"READY=1\nSTATUS=idle, offline, outbox 0", str(sink.path))
        sender.sendto(b"STATUS=member, offline, outbox 0", str(sink.path))
        ready = sink.wait(is_ready, since=since, timeout_s=5)
        member = sink.wait(shows("member"), since=since, timeout_s=5)
        sender.close()
    assert ready.at >= sent_at and ready.status() == "idle, offline, outbox 0"
    assert member.at >= ready.at
    assert not shows("member")(ready) and not shows("idle")(member)


def test_percentile_is_a_measured_value():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 50) == 50.0
    assert percentile([7.0], 95) == 7.0
