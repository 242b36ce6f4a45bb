"""The kiosk process online: a redemption reaches HQ's store once, is acknowledged, the outbox drains.

# exchange: kiosk --(status online, retained)--> broker; tap + redeem via the control socket;
# kiosk --(event, QoS 1)--> HQ listener (stores, dedups) --(ack)--> kiosk deletes it from the outbox.
Real Mosquitto on a free loopback port, the reference HQ listener, the real kiosk process.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest

from sync.commands import sign_command
from sync.hq.listener import HqListener
from sync.keys import generate_keypair
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import dumps, parse_push_ack
from sync.topics import Scope
from tests.app.process import Kiosk
from tests.sync.broker import Mosquitto

DEVICE = "kiosk-sim-01"

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Mosquitto(folder)
    server.start()
    yield server
    server.stop()


def outbox_depth(tmp_path) -> int:
    with sqlite3.connect(f"file:{tmp_path / 'var/data/ledger.db'}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


def hq_key(tmp_path):
    """HQ's signing key, at the place simulation looks for it (the kiosk trusts its public half)."""
    return generate_keypair(tmp_path / "var/keys/hq_private.pem", tmp_path / "var/keys/hq_public.pem")


def test_online_redemption_is_stored_once_at_hq_and_leaves_the_outbox(tmp_path, broker):
    listener = HqListener(
        store_path=tmp_path / "hq.sqlite",
        signing_key=hq_key(tmp_path),
        prefix="kiosk/v1",
        host="127.0.0.1",
        port=broker.port,
        reconnect_min_s=1,
        reconnect_max_s=2,
    )
    listener.start()
    assert listener.wait_connected(10)
    kiosk = Kiosk(tmp_path, hq={"host": "127.0.0.1", "port": broker.port})
    try:
        kiosk.wait_notify(lambda m: "READY=1" in m)
        kiosk.wait_status("idle, online,")
        kiosk.send(cmd="tap", key=1)
        kiosk.wait_notify(lambda m: "STATUS=member," in m)
        rewards = kiosk.send(cmd="intent", intent="open_rewards")
        choice = next(r for r in rewards["rewards"] if r["choosable"])
        kiosk.send(cmd="intent", intent="choose", reward_id=choice["reward_id"])
        voucher = kiosk.send(cmd="intent", intent="confirm")
        assert voucher["screen"] == "voucher" and voucher["offline"] is False
        deadline = time.monotonic() + 20
        while outbox_depth(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbox_depth(tmp_path) == 0
    finally:
        assert kiosk.close() == 0
        listener.stop()
    with sqlite3.connect(tmp_path / "hq.sqlite") as hq:
        rows = hq.execute("SELECT type, payload FROM events WHERE device_id = 'kiosk-sim-01'").fetchall()
    redemptions = [payload for kind, payload in rows if kind == "redemption"]
    assert len(redemptions) == 1 and voucher["voucher_id"] in redemptions[0]


def test_a_retained_resync_does_not_loop_the_kiosk_process(tmp_path, broker):
    # Before: resync resubscribed, the broker redelivered the retained command, 405 times in 15 s
    # at 94% of a core. Now the kiosk refuses any retained command once per delivery, and a
    # genuine, live one is applied once.
    key = hq_key(tmp_path)
    answers = []
    hq = MqttClient(
        ConnectionSettings(
            "hq-publisher", "127.0.0.1", broker.port, subscriptions=[(f"kiosk/v1/kiosk/{DEVICE}/push-ack", 1)]
        ),
        on_message=lambda m: answers.append(parse_push_ack(m.payload)),
    )
    hq.start()
    assert hq.wait_connected(10)
    topic = f"kiosk/v1/hq/device/{DEVICE}/cmd"

    def resync(command_id):
        issued = sign_command(
            key, command="resync", command_id=command_id, scope=Scope.device(DEVICE), issued_at=dt.datetime.now(dt.UTC)
        )
        return dumps(issued)

    hq.publish_and_wait(topic, resync("c-retained"), retain=True)
    kiosk = Kiosk(tmp_path, hq={"host": "127.0.0.1", "port": broker.port})
    try:
        kiosk.wait_notify(lambda m: "READY=1" in m)
        deadline = time.monotonic() + 20
        while not any(a.reason == "retained" for a in answers) and time.monotonic() < deadline:
            time.sleep(0.1)
        hq.publish_and_wait(topic, resync("c-live"))
        time.sleep(3)  # long enough for hundreds of loops, had there been one
    finally:
        assert kiosk.close() == 0
        hq.clear_retained(topic)
        hq.stop()
    commands = [(a.status, a.reason, a.detail) for a in answers if a.type == "command"]
    assert commands[0][:2] == ("rejected", "retained")
    # The live resync resubscribes: the broker hands the retained command over once more.
    assert commands[1:] == [("applied", None, "c-live"), ("rejected", "retained", commands[0][2])]
