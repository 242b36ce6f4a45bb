"""The real `kiosk run` process driven from outside, as systemd and the benchmarks see it.

systemd's side is a real NOTIFY_SOCKET; the shopper's side is the simulation control socket
(cards into the emulated field, touchscreen intents). SDL's dummy driver stands in for the panel.
"""

from __future__ import annotations

import pytest

from tests.app.process import Kiosk

pytestmark = pytest.mark.integration


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
