"""The kiosk process online: a redemption reaches HQ's store once, is acknowledged, the outbox drains.

# exchange: kiosk --(status online, retained)--> broker; tap + redeem via the control socket;
# kiosk --(event, QoS 1)--> HQ listener (stores, dedups) --(ack)--> kiosk deletes it from the outbox.
Real Mosquitto on a free loopback port, the reference HQ listener, the real kiosk process.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from sync.hq.listener import HqListener
from tests.app.process import Kiosk
from tests.sync.broker import Mosquitto

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


def test_online_redemption_is_stored_once_at_hq_and_leaves_the_outbox(tmp_path, broker):
    listener = HqListener(
        store_path=tmp_path / "hq.sqlite",
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
