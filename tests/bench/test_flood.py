"""bench.flood at CI size: the real kiosk process is flooded through a real Mosquitto and must still
work afterwards; the run ends with one JSON line of figures.

No memory or timing figure is compared with a target here (they belong to `python -m bench.flood`,
see docs/benchmarks.md). What the flood is made of is checked without a broker: each kind of
message reaches the topics it claims, at the size it claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.flood import MIB, Payloads, at_limit_messages, oversized_messages, padded, small_messages
from sync.acks import MAX_ACK_BYTES
from sync.commands import MAX_COMMAND_BYTES
from sync.inbound import DEFAULT_MAX_PUSH_BYTES
from sync.signing import key_id
from sync.topics import KioskTopics

REPO = Path(__file__).resolve().parents[2]
DEVICE, STORE = "kiosk-sim-01", "store-0001"
FIGURES = ("rss_mb_under_flood", "rss_mb_idle", "rss_mb_at_limit")


def _payloads() -> Payloads:
    return Payloads(DEVICE, STORE, key_id(Ed25519PrivateKey.generate().public_key()))


def _kinds(messages: list[tuple[str, bytes, bool]]) -> set[str]:
    topics = KioskTopics("kiosk/v1", DEVICE, STORE)
    return {topics.parse(topic).kind for topic, _, _ in messages}


def test_oversized_messages_hit_documents_acks_and_commands_retained_and_not():
    messages = oversized_messages(_payloads(), 6, 5 * MIB)
    assert _kinds(messages) == {"document", "ack", "cmd"}
    assert {retain for _, _, retain in messages} == {True, False}
    assert all(len(body) == 5 * MIB for _, body, _ in messages)


@pytest.mark.parametrize(("kind", "expected"), [("commands", "cmd"), ("acks", "ack"), ("documents", "document")])
def test_small_messages_are_of_their_kind_and_small(kind, expected):
    messages = small_messages(_payloads(), kind, 50)
    assert len(messages) == 50
    assert _kinds(messages) == {expected}
    assert max(len(body) for _, body, _ in messages) < 4096


def test_at_limit_messages_stay_just_under_each_kinds_limit():
    messages = at_limit_messages(_payloads(), 1, 1, 1, DEFAULT_MAX_PUSH_BYTES)
    sizes = {KioskTopics("kiosk/v1", DEVICE, STORE).parse(topic).kind: len(body) for topic, body, _ in messages}
    assert DEFAULT_MAX_PUSH_BYTES - 64 * 1024 < sizes["document"] <= DEFAULT_MAX_PUSH_BYTES
    assert MAX_ACK_BYTES - 2048 < sizes["ack"] <= MAX_ACK_BYTES
    assert MAX_COMMAND_BYTES - 128 < sizes["cmd"] <= MAX_COMMAND_BYTES


def test_padding_keeps_a_json_object_and_reaches_the_size():
    body = padded(b'{"a":1}', 100)
    assert len(body) == 100 and json.loads(body)["a"] == 1


@pytest.mark.integration
def test_quick_flood_leaves_a_working_kiosk_and_one_json_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "KIOSK_SIM_CONTROL")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.flood", "--quick", "--workdir", str(tmp_path / "run")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("{"), f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert sum(1 for line in lines if line.startswith("{")) == 1
    figures = json.loads(lines[-1])
    for key in FIGURES:
        assert isinstance(figures[key], float) and figures[key] > 0, (key, figures)
    # survived: alive, online, and a genuine document published after the flood was applied
    assert figures["alive"] and figures["online_after_flood"], figures
    assert figures["document_applied_after_flood"] and figures["command_applied_after_flood"], figures
    assert figures["inbound_stalled_after"] == [], figures
    assert figures["kiosk_exit_on_sigterm"] == 0, figures
    assert (figures["small_sent"], figures["oversized_sent"]) == (3000, 3), figures
    counters = figures["kiosk_link_counters"]
    assert min(counters["unverified_acks"], counters["refused_commands"], counters["rejected_pushes"]) > 0, figures
    assert figures["kiosk_log_errors"] == 0, figures
    assert result.returncode == 0, result.stdout[-3000:]
