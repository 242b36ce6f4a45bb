"""TLS with per-device certificates (identity = CN = username) and the ACL of docs/broker/:
a kiosk's certificate can publish only its own topics; it cannot write as another kiosk or as HQ.

Each check publishes the forbidden message and then a permitted marker from the same client;
messages from one client arrive in order, so once the marker is seen, the forbidden one would
have been seen before it if the broker had let it through."""

from __future__ import annotations

import threading

import pytest

from sync.hq.store import HqStore
from sync.mqtt_client import ConnectionSettings, Message, MqttClient
from tests.sync.conftest import PREFIX, seeded_ledger, wait_until

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def topics(self) -> list[str]:
        with self._lock:
            return [m.topic for m in self.messages]


def connect(tls_broker, identity: str, subscriptions=(), on_message=None) -> MqttClient:
    client = MqttClient(
        ConnectionSettings(
            identity,
            tls_broker.host,
            tls_broker.port,
            tls=tls_broker.tls_for(identity),
            subscriptions=list(subscriptions),
        ),
        on_message=on_message,
    )
    client.start()
    assert client.wait_connected(10), f"{identity} could not connect over TLS"
    return client


def test_kiosk_cannot_publish_as_another_kiosk(tls_broker):
    seen = Recorder()
    hq = connect(tls_broker, "hq", [(f"{PREFIX}/kiosk/+/events", 1)], seen)
    k1 = connect(tls_broker, "K001")
    k1.publish_and_wait(f"{PREFIX}/kiosk/K002/events", b'{"forged": true}')
    k1.publish_and_wait(f"{PREFIX}/kiosk/K001/events", b'{"marker": true}')
    wait_until(lambda: f"{PREFIX}/kiosk/K001/events" in seen.topics(), what="marker")
    assert seen.topics() == [f"{PREFIX}/kiosk/K001/events"]
    k1.stop(), hq.stop()


@pytest.mark.parametrize("hq_topic", ["hq/fleet/rules", "hq/device/K002/ack", "hq/device/K001/ack", "hq/store/S01/cmd"])
def test_kiosk_cannot_publish_as_hq(tls_broker, hq_topic):
    seen = Recorder()
    k2 = connect(tls_broker, "K002", [(f"{PREFIX}/hq/#", 1)], seen)
    k1 = connect(tls_broker, "K001")
    hq = connect(tls_broker, "hq")
    k1.publish_and_wait(f"{PREFIX}/{hq_topic}", b'{"forged": true}')
    hq.publish_and_wait(f"{PREFIX}/hq/fleet/cmd", b'{"marker": true}')
    wait_until(lambda: f"{PREFIX}/hq/fleet/cmd" in seen.topics(), what="marker")
    assert seen.topics() == [f"{PREFIX}/hq/fleet/cmd"]
    k1.stop(), k2.stop(), hq.stop()


def test_kiosk_cannot_read_another_kiosks_acks(tls_broker):
    seen = Recorder()
    k1 = connect(tls_broker, "K001", [(f"{PREFIX}/hq/device/K002/#", 1), (f"{PREFIX}/hq/device/K001/#", 1)], seen)
    hq = connect(tls_broker, "hq")
    hq.publish_and_wait(f"{PREFIX}/hq/device/K002/ack", b"{}")
    hq.publish_and_wait(f"{PREFIX}/hq/device/K001/ack", b"{}")
    wait_until(lambda: seen.topics(), what="own ack")
    assert seen.topics() == [f"{PREFIX}/hq/device/K001/ack"]
    k1.stop(), hq.stop()


def test_client_without_a_certificate_is_refused(tls_broker):
    from sync.mqtt_client import TlsSettings

    client = MqttClient(
        ConnectionSettings("K001", tls_broker.host, tls_broker.port, tls=TlsSettings(tls_broker.pki.ca))
    )
    client.start()
    assert not client.wait_connected(2)
    client.stop()


def test_end_to_end_redemption_over_tls_with_acls(tls_broker, open_ledger, start_link, start_listener, tmp_path):
    # the whole path with certificates and ACLs on: redemption -> HQ (shared subscription) -> ack
    ledger = seeded_ledger(open_ledger)
    ledger.redeem("intent-tls", "M1", "off-5", online=True)
    expected = [e.event_id for e in ledger.outbox_pending(10)]
    start_listener(tls_broker.host, tls_broker.port, client_id="hq", tls=tls_broker.tls_for("hq"))
    start_link(tls_broker.host, tls_broker.port, tls=tls_broker.tls_for("K001"))
    wait_until(lambda: ledger.outbox_depth() == 0, what="outbox drained over TLS")
    assert [e["event_id"] for e in HqStore(tmp_path / "hq.sqlite").events("K001")] == expected
