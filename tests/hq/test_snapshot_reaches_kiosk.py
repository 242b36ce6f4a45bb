"""A kiosk that was away longer than the broker kept its session converges from HQ's retained member
snapshot in parts, and a snapshot with a part missing is not applied.

Real parts: HQ's runtime (listener, feedback pump, snapshot schedule) on SQLite and PostgreSQL, a
real Mosquitto, the kiosk's HqLink over a real Ledger. "Away longer than its session" is made
real by ending the kiosk's session at the broker (a clean connection under its client id) while
its link is stopped: the member update sent meanwhile is then lost to it, as after session expiry.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.config import FeedbackSettings, HqSettings, MqttSettings
from hq.domain.examples import supermarket_program
from hq.runtime import HqRuntime
from hq.service import till
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.snapshots import prepare_member_snapshots
from hq.store import tables as t
from kiosk.ledger import Ledger, OfflineLimits
from sync.link import HqLink
from sync.mqtt_client import ConnectionSettings, MqttClient
from tests.sync.broker import Mosquitto
from tests.sync.conftest import StoreClock, wait_until
from tests.sync.conftest import broker as broker  # the real Mosquitto fixture (re-exported for pytest)

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "kiosk/v1"
PART_BYTES = 64 * 1024
#: Long names make 120 members take more than one part of 64 KiB.
MEMBERS = [f"M{n:03d}" for n in range(120)]


@pytest.fixture
def hq(db_url, broker, tmp_path):
    key = Ed25519PrivateKey.generate()
    settings = HqSettings(
        database=db_url,
        signing_key=tmp_path / "unused.pem",
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, topic_prefix=PREFIX),
        publish_interval_s=0.1,
        feedback=FeedbackSettings(snapshot_interval_s=3600, snapshot_part_bytes=PART_BYTES),
    )
    runtime = HqRuntime(settings, key=key)
    now = dt.datetime.now(TZ)
    with runtime.engine.begin() as conn:
        add_program(conn, supermarket_program(), key=key, topics=runtime.topics, now=now, by="test")
        for member_id in MEMBERS:
            enrol(conn, NewMember(member_id, "王" * 200, home_store="S01"), now)
    runtime.start(http=False)  # no snapshot yet: the schedule publishes the first at once
    yield runtime
    runtime.stop()


class Kiosk:
    def __init__(self, hq: HqRuntime, broker: Mosquitto, folder) -> None:
        self.hq, self.broker, self.folder = hq, broker, folder
        self.ledger = Ledger.open(
            folder / "ledger.db", device_id="K001", clock=StoreClock(), tz=TZ,
            voucher_key=Ed25519PrivateKey.generate(),
            offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
        )  # fmt: skip
        self.link: HqLink | None = None

    def start(self) -> None:
        self.link = HqLink(
            device_id="K001", store_id="S01", host="127.0.0.1", port=self.broker.port, tls=None, username=None,
            password=None, keepalive_s=5, topic_prefix=PREFIX, hq_public_keys=[self.hq.key.public_key()],
            ledger=self.ledger, telemetry_source=dict, clock=StoreClock(), drain_rate_per_s=None,
            software_version="test", state_path=self.folder / "sync-state.sqlite", reconnect_min_s=1,
            reconnect_max_s=2,
        )  # fmt: skip
        self.link.start()

    def leave_for_longer_than_the_session(self) -> None:
        assert self.link is not None
        self.link.stop()
        ender = MqttClient(ConnectionSettings("K001", "127.0.0.1", self.broker.port, persistent_session=False))
        ender.start()
        assert ender.wait_connected(10)
        ender.stop()

    def points(self, member_id: str = "M000") -> int | None:
        try:
            return self.ledger.member_view(member_id).points
        except LookupError:
            return None

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
        self.ledger.close()


@pytest.fixture
def kiosk(hq, broker, tmp_path):
    kiosk = Kiosk(hq, broker, tmp_path / "K001")
    kiosk.start()
    wait_until(lambda: kiosk.ledger.member_count() == len(MEMBERS), what="the first snapshot at the kiosk")
    yield kiosk
    kiosk.close()


def purchase(hq: HqRuntime, amount_fen: int, order: str) -> None:
    now = dt.datetime.now(TZ)
    with hq.engine.begin() as conn:
        till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M000", amount_fen, now), now)
    hq.pump.nudge()


def all_sent(hq: HqRuntime) -> bool:
    with hq.engine.connect() as conn:
        return not conn.execute(
            sa.select(t.publications.c.publication_id).where(t.publications.c.sent_at.is_(None))
        ).first()


def publish_snapshot(hq: HqRuntime) -> int:
    """What `kiosk-hq publish-snapshot` does, then the pump sends it; returns the parts."""
    with hq.engine.begin() as conn:
        (published,) = prepare_member_snapshots(conn, hq.key, hq.topics, dt.datetime.now(TZ), part_bytes=PART_BYTES)
    hq.pump.nudge()
    wait_until(lambda: all_sent(hq), what="the snapshot's parts at the broker")
    return published.parts


def test_a_kiosk_away_longer_than_its_session_converges_from_the_retained_snapshot(hq, kiosk):
    kiosk.leave_for_longer_than_the_session()
    purchase(hq, 120_000, "A-1")  # 1,200 points in an update the kiosk never gets
    wait_until(lambda: all_sent(hq), what="the member update at the broker")
    assert publish_snapshot(hq) > 1
    kiosk.start()
    wait_until(lambda: kiosk.points() == 1_200, what="the purchase's points from the snapshot")


def test_a_snapshot_with_a_part_missing_is_not_applied(hq, kiosk, broker):
    kiosk.leave_for_longer_than_the_session()
    purchase(hq, 120_000, "A-1")
    publish_snapshot(hq)
    lost = MqttClient(ConnectionSettings("lost-part", "127.0.0.1", broker.port))
    lost.start()
    assert lost.wait_connected(10)
    assert lost.publish_and_wait(hq.topics.member_part(_fleet(), 1), b"", qos=1, retain=True, timeout=10)
    lost.stop()
    kiosk.start()
    wait_until(lambda: _held_acks(hq) >= 1, what="the kiosk holding the parts it got")
    time.sleep(0.5)  # anything else the kiosk would do with what it got
    assert kiosk.points() == 0
    publish_snapshot(hq)  # the next snapshot is whole again
    wait_until(lambda: kiosk.points() == 1_200, what="the points from the complete snapshot")


def _fleet():
    from sync.topics import Scope

    return Scope.fleet()


def _held_acks(hq: HqRuntime) -> int:
    a = t.push_acks.c
    with hq.engine.connect() as conn:
        return len(
            conn.execute(sa.select(a.push_ack_id).where(a.type == "members_part", a.detail.like("% held;%"))).all()
        )
