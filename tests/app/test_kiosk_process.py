"""The real `kiosk run` process driven from outside, as systemd and the benchmarks see it.

systemd's side is a real NOTIFY_SOCKET; the shopper's side is the simulation control socket
(cards into the emulated field, touchscreen intents). SDL's dummy driver stands in for the panel.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.app.conftest import write_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


class Kiosk:
    def __init__(self, tmp_path: Path):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(tmp_path / "notify.sock"))
        self.notify.settimeout(0.2)
        self.control_path = tmp_path / "control.sock"
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
               "KIOSK_SIM_CONTROL": str(self.control_path)}
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(write_config(tmp_path))],
                                     cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.statuses: list[str] = []
        self.control: socket.socket | None = None

    def wait_notify(self, predicate, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.notify.recv(4096).decode()
            except socket.timeout:
                assert self.proc.poll() is None, self.proc.stderr.read()
                continue
            self.statuses.extend(line for line in message.splitlines() if line.startswith("STATUS="))
            if predicate(message):
                return message
        raise AssertionError(f"no such notify message; statuses {self.statuses}")

    def send(self, **command) -> dict:
        if self.control is None:
            self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.control.connect(str(self.control_path))
            self.stream = self.control.makefile("rwb")
        self.stream.write(json.dumps(command).encode() + b"\n")
        self.stream.flush()
        return json.loads(self.stream.readline())

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self.notify.close()
        if self.control is not None:
            self.control.close()
        return code


@pytest.fixture
def kiosk(tmp_path):
    k = Kiosk(tmp_path)
    yield k
    k.close()


def test_kiosk_reports_ready_then_member_screen_after_a_tap_and_stops_on_sigterm(kiosk):
    ready = kiosk.wait_notify(lambda m: "READY=1" in m)
    assert "STATUS=idle, offline, outbox 0" in ready
    assert kiosk.send(cmd="tap", key=1) == {"ok": True}
    kiosk.wait_notify(lambda m: "STATUS=member," in m)
    assert kiosk.close() == 0


def test_redemption_through_the_control_socket_issues_a_voucher(kiosk):
    kiosk.wait_notify(lambda m: "READY=1" in m)
    kiosk.send(cmd="tap", key=1)
    kiosk.wait_notify(lambda m: "STATUS=member," in m)
    rewards = kiosk.send(cmd="intent", intent="open_rewards")
    choice = next(r for r in rewards["rewards"] if r["choosable"])
    assert kiosk.send(cmd="intent", intent="choose", reward_id=choice["reward_id"])["screen"] == "confirm"
    voucher = kiosk.send(cmd="intent", intent="confirm")
    assert voucher["screen"] == "voucher" and voucher["offline"] is True
    assert kiosk.send(cmd="state")["points"] == rewards["points"] - choice["cost"]


def test_unknown_control_command_is_answered_with_a_reason(kiosk):
    kiosk.wait_notify(lambda m: "READY=1" in m)
    assert kiosk.send(cmd="fly") == {"ok": False, "error": "unknown command 'fly'"}
    assert kiosk.send(cmd="tap", key=42)["ok"] is False
