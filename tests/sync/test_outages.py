"""Outages against a real Mosquitto without persistence and the real Ledger's outbox: the broker
killed and restarted mid-stream, and the kiosk process killed mid-publish. Nothing is lost, nothing
is doubled: HQ ends with every event exactly once, in an unbroken sequence, and the outbox empty.

Sizes scale with KIOSK_OUTAGE_EVENTS (default 200) so CI stays fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sync.hq.store import HqStore
from tests.sync.conftest import seeded_ledger, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = int(os.environ.get("KIOSK_OUTAGE_EVENTS", "200"))
REPO = Path(__file__).resolve().parents[2]


def write_events(ledger, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        ledger.record_security_event("test_event", bytes([1, 2, 3, i % 256]), {"n": i})


def assert_hq_has_exactly(store: HqStore, ledger_event_ids: dict[int, str], device_id: str = "K001"):
    events = store.events(device_id)
    assert [e["seq"] for e in events] == sorted(ledger_event_ids)
    assert {e["seq"]: e["event_id"] for e in events} == ledger_event_ids
    assert store.gaps(device_id) == 0 and store.conflict_count() == 0


def test_broker_killed_and_restarted_mid_stream_loses_and_doubles_nothing(
    broker, open_ledger, start_link, start_listener, tmp_path
):
    # events stream at 200/s -> broker SIGKILLed after some arrived -> more events while it is
    # down -> broker restarted empty -> everything arrives once, outbox drains
    ledger = seeded_ledger(open_ledger)
    write_events(ledger, EVENTS)
    ids = {e.seq: e.event_id for e in ledger.outbox_pending(10 * EVENTS)}
    listener = start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port, drain_rate_per_s=200.0)
    wait_until(lambda: listener.stored >= EVENTS // 4, what="stream under way")
    broker.kill()
    wait_until(lambda: not link.online, what="link notices the outage")
    write_events(ledger, EVENTS // 4, start=EVENTS)
    ids.update({e.seq: e.event_id for e in ledger.outbox_pending(10 * EVENTS)})
    broker.start()
    wait_until(lambda: ledger.outbox_depth() == 0, timeout=60, what="outbox drained after restart")
    assert_hq_has_exactly(HqStore(tmp_path / "hq.sqlite"), ids)


def _spawn_kiosk(data_dir: Path, broker, key_file: Path, rate: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sync.kiosk_child",
            str(data_dir),
            broker.host,
            str(broker.port),
            "K001",
            str(key_file),
            str(rate),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_kiosk_killed_mid_publish_loses_and_doubles_nothing(broker, open_ledger, start_listener, hq_key, tmp_path):
    # child kiosk streams at 100/s -> SIGKILL mid-stream -> broker publishes its last will
    # (offline) -> a new kiosk process resumes from the outbox -> every event once at HQ
    key_file = tmp_path / "hq.pub"
    key_file.write_bytes(
        hq_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    ledger = seeded_ledger(open_ledger)
    write_events(ledger, EVENTS)
    ids = {e.seq: e.event_id for e in ledger.outbox_pending(10 * EVENTS)}
    listener = start_listener(broker.host, broker.port)
    store = HqStore(tmp_path / "hq.sqlite")
    child = _spawn_kiosk(tmp_path / "K001", broker, key_file, rate=100.0)
    try:
        wait_until(lambda: listener.stored >= EVENTS // 4, what="stream under way")
        child.kill()
        child.wait(10)
        assert listener.stored < len(ids), "the kiosk must die before the stream ends"
        # keepalive 5 s: the broker declares the link dead within 1.5 x keepalive
        wait_until(lambda: [d["state"] for d in store.devices()] == ["offline"], timeout=30, what="last will published")
        child = _spawn_kiosk(tmp_path / "K001", broker, key_file, rate=0)
        wait_until(lambda: ledger.outbox_depth() == 0, timeout=60, what="outbox drained")
    finally:
        child.kill()
        child.wait(10)
    assert_hq_has_exactly(store, ids)
