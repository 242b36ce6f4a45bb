"""The shipped broker samples under attack: a real Mosquitto started from docs/broker/mosquitto.conf
and kiosk.acl as a technician installs them (tests/sync/sample_broker.py), with certificates for
kiosks (CN = device id) and for HQ's identities (hq-publisher, hq-listener-N).

A check that something is NOT delivered publishes the forbidden message, then a permitted marker,
and waits for the marker. Mosquitto handles one packet at a time and hands a QoS 1 message to its
subscribers before it acknowledges it, so had the forbidden message got through, it would have
arrived first (also when the marker comes from another client after the PUBACK)."""

from __future__ import annotations

import datetime as dt
import functools
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sync.inbound import DEFAULT_MAX_PUSH_BYTES
from sync.mqtt_client import ConnectionSettings, Message, MqttClient, TlsSettings
from sync.topics import HqTopics, KioskTopics, Scope
from tests.sync.conftest import wait_until
from tests.sync.sample_broker import SAMPLE_PREFIX, SAMPLES, SampleBroker, sample_directives, sample_value

pytestmark = pytest.mark.integration

K001 = KioskTopics(SAMPLE_PREFIX, "K001", "S01")  # K001 and K002 are in store S01 in the sample ACL
HQ = HqTopics(SAMPLE_PREFIX)
ACK = b'{"v": 1, "event_ids": ["e-1"]}'
CMD = b'{"v": 1, "command": "request_telemetry", "id": "c-1", "issued_at": "2024-05-01T09:00:00+08:00"}'
REFUSED_WITHIN_S = 3  # a refused certificate never connects; an accepted one connects in milliseconds


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

    def sizes(self) -> list[int]:
        with self._lock:
            return [len(m.payload) for m in self.messages]


class Clients:
    """MQTT clients with a certificate for their identity, all stopped at teardown."""

    def __init__(self) -> None:
        self._started: list[MqttClient] = []

    def connect(
        self,
        broker: SampleBroker,
        identity: str,
        *,
        client_id: str | None = None,
        tls: TlsSettings | None = None,
        subscriptions=(),
        on_message=None,
        on_disconnect=None,
        persistent: bool = True,
        wait: bool = True,
    ) -> MqttClient:
        """Client id = `identity` unless given; `wait`: fail unless connected within 10 s."""
        settings = ConnectionSettings(
            client_id or identity,
            broker.host,
            broker.port,
            tls=tls or broker.tls_for(identity),
            persistent_session=persistent,
            subscriptions=[(topic, 1) for topic in subscriptions],
        )
        client = MqttClient(settings, on_message=on_message, on_disconnect=on_disconnect)
        self._started.append(client)
        client.start()
        if wait:
            assert client.wait_connected(10), f"{identity} could not connect"
        return client

    def stop_all(self) -> None:
        for client in self._started:
            client.stop()


@pytest.fixture
def clients():
    started = Clients()
    yield started
    started.stop_all()


@pytest.fixture
def connect(sample_broker, clients):
    """`clients.connect` on the sample broker."""
    return functools.partial(clients.connect, sample_broker)


# --- the certificate decides the client id ---------------------------------------------------


def test_another_certificate_cannot_disconnect_a_kiosk_by_using_its_client_id(connect):
    # K001 is online; K002's certificate connects asking for client id "K001"; a listener acks
    # K001: the ack reaches K001 on the connection it had all along.
    seen, drops = Recorder(), []
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen, on_disconnect=drops.append)
    connect("K002", client_id="K001", persistent=False)
    connect("hq-listener-1").publish_and_wait(K001.ack, ACK)
    wait_until(lambda: K001.ack in seen.topics(), what="the ack for K001")
    assert drops == []


def test_another_certificate_cannot_discard_the_messages_queued_for_a_kiosk(connect):
    # K001 goes offline with a persistent session; a listener acks it (queued by the broker);
    # K002's certificate connects as client id "K001" with a clean start; K001 comes back: the
    # queued ack is still there.
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen).stop()
    connect("hq-listener-1").publish_and_wait(K001.ack, ACK)
    connect("K002", client_id="K001", persistent=False).stop()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    wait_until(lambda: seen.topics(), what="the queued ack")
    assert seen.topics() == [K001.ack]


# --- message size -----------------------------------------------------------------------------


def max_packet_size() -> int:
    return int(sample_value("max_packet_size"))


def test_size_limit_leaves_room_for_the_largest_push_a_kiosk_accepts():
    # a member snapshot of max_push_bytes, plus topic and MQTT headers, must still pass the broker
    assert DEFAULT_MAX_PUSH_BYTES + 1024 <= max_packet_size()


def test_size_limit_is_never_above_what_a_kiosk_asks_for_in_its_connect():
    # Mosquitto 2.0.11 stops QoS 1 delivery to a client after 20 messages it dropped for the
    # client's Maximum Packet Size: nothing the broker accepts may exceed the kiosk's.
    from sync.link import PACKET_OVERHEAD_BYTES

    assert max_packet_size() <= DEFAULT_MAX_PUSH_BYTES + PACKET_OVERHEAD_BYTES


def test_publish_over_the_size_limit_reaches_no_kiosk(connect):
    # hq-publisher sends a snapshot one byte over the limit (QoS 0), then a command (QoS 1, which
    # paho resends should the broker have dropped the connection): K001 gets only the command.
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    publisher = connect("hq-publisher")
    publisher.publish(HQ.document("members", Scope.fleet()), b"x" * (max_packet_size() + 1), qos=0)
    publisher.publish(HQ.command(Scope.fleet()), CMD, qos=1)
    wait_until(lambda: seen.topics(), what="the command")
    assert seen.topics() == [HQ.command(Scope.fleet())]


def test_publish_just_under_the_size_limit_reaches_the_kiosk(connect):
    # 1 KiB below the limit leaves room for the topic and the MQTT headers
    size = max_packet_size() - 1024
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    connect("hq-publisher").publish_and_wait(HQ.document("members", Scope.fleet()), b"x" * size, timeout=30)
    wait_until(lambda: seen.sizes(), what="the snapshot")
    assert seen.sizes() == [size]


# --- HQ's identities: publisher and listeners --------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        HQ.document("rules", Scope.fleet()),
        HQ.document("members", Scope.store("S01")),
        HQ.document("members_update", Scope.device("K001")),
        HQ.document("denylist", Scope.fleet()),
        HQ.document("denylist_delta", Scope.store("S01")),
        HQ.document("voucher_keys", Scope.fleet()),
        HQ.command(Scope.device("K001")),
    ],
)
def test_publisher_can_send_documents_and_commands(connect, topic):
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    connect("hq-publisher").publish_and_wait(topic, b"{}")
    wait_until(lambda: seen.topics(), what=topic)
    assert seen.topics() == [topic]


def test_publisher_cannot_send_acks(connect):
    # an ack makes the kiosk delete events from its outbox: only a listener, which stored them, may
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    publisher = connect("hq-publisher")
    publisher.publish_and_wait(HQ.ack("K001"), ACK)
    publisher.publish_and_wait(HQ.command(Scope.device("K001")), CMD)
    wait_until(lambda: seen.topics(), what="the command")
    assert seen.topics() == [HQ.command(Scope.device("K001"))]


@pytest.mark.parametrize("identity", ["hq-listener-1", "hq-listener-2"])
def test_listener_can_send_acks(connect, identity):
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    connect(identity).publish_and_wait(HQ.ack("K001"), ACK)
    wait_until(lambda: seen.topics(), what="the ack")
    assert seen.topics() == [HQ.ack("K001")]


@pytest.mark.parametrize(
    "topic",
    [
        HQ.document("rules", Scope.fleet()),
        HQ.document("members", Scope.store("S01")),
        HQ.document("denylist_delta", Scope.device("K001")),
        HQ.document("voucher_keys", Scope.fleet()),
        HQ.command(Scope.fleet()),
        HQ.command(Scope.device("K001")),
    ],
)
def test_listener_cannot_send_documents_or_commands(connect, topic):
    seen = Recorder()
    connect("K001", subscriptions=K001.subscriptions(), on_message=seen)
    listener = connect("hq-listener-1")
    listener.publish_and_wait(topic, b"{}")
    listener.publish_and_wait(HQ.ack("K001"), ACK)
    wait_until(lambda: seen.topics(), what="the ack")
    assert seen.topics() == [HQ.ack("K001")]


def test_listener_receives_what_kiosks_report_through_its_subscriptions(connect):
    # the listener's own subscriptions, events and push-acks shared ($share/hq/...)
    seen = Recorder()
    subscriptions = [HQ.events_shared, HQ.push_acks_shared, HQ.status_all, HQ.telemetry_all]
    connect("hq-listener-1", subscriptions=subscriptions, on_message=seen)
    kiosk = connect("K001")
    for topic in (K001.events, K001.push_ack, K001.status, K001.telemetry):
        kiosk.publish_and_wait(topic, b"{}")
    wait_until(lambda: len(seen.topics()) == 4, what="four kiosk messages")
    assert seen.topics() == [K001.events, K001.push_ack, K001.status, K001.telemetry]


@pytest.mark.parametrize("identity", ["hq-publisher", "hq-listener-1"])
def test_hq_identity_cannot_pass_for_a_kiosk_of_its_name(connect, identity):
    # the kiosk patterns of the ACL apply to every user; the deny lines keep HQ's names out
    seen = Recorder()
    connect("hq-listener-2", subscriptions=[HQ.events_shared], on_message=seen)
    connect(identity).publish_and_wait(f"{SAMPLE_PREFIX}/kiosk/{identity}/events", b"{}")
    connect("K001").publish_and_wait(K001.events, b"{}")
    wait_until(lambda: seen.topics(), what="K001's event")
    assert seen.topics() == [K001.events]


# --- TLS only ---------------------------------------------------------------------------------


def test_sample_has_no_listener_without_tls():
    # every listener is followed, before the next one, by its certificate and key and requires a
    # client certificate; no `port` line opens an old-style default listener
    directives = sample_directives()
    starts = [i for i, (_, name, _) in enumerate(directives) if name == "listener"]
    assert starts, "without a listener Mosquitto 2 opens a plain one on localhost:1883"
    assert "port" not in [name for _, name, _ in directives]
    for start, end in zip(starts, [*starts[1:], len(directives)]):
        block = {name: value for _, name, value in directives[start:end]}
        listener = directives[start][2]
        assert "certfile" in block and "keyfile" in block, f"listener {listener} has no TLS"
        assert block.get("require_certificate") == "true", f"listener {listener} takes no client certificate"


# --- revocation -------------------------------------------------------------------------------


def test_revoked_kiosk_certificate_is_refused(sample_broker, connect):
    tls = sample_broker.tls_for("K002")
    sample_broker.revoke(tls)
    sample_broker.server.restart()
    assert not connect("K002", tls=tls, wait=False).wait_connected(REFUSED_WITHIN_S)


def test_kiosk_certificate_not_in_the_crl_still_connects(sample_broker, connect):
    sample_broker.revoke(sample_broker.tls_for("K002"))
    sample_broker.server.restart()
    assert connect("K001", wait=False).wait_connected(10)


def test_crl_past_its_next_update_refuses_every_certificate(sample_broker, connect):
    # why the README has the CRL renewed from cron even when nothing was revoked
    sample_broker.pki.write_crl(sample_broker.crl, expires_in=-dt.timedelta(hours=1))
    sample_broker.server.restart()
    assert not connect("K001", wait=False).wait_connected(REFUSED_WITHIN_S)


@pytest.fixture
def script_broker(tmp_path: Path):
    """The sample broker on make-device-cert.sh's files: K001 and K002 issued, then K002 revoked."""
    ca_dir = tmp_path / "kiosk-ca"
    env = {**os.environ, "BROKER_NAME": "localhost"}
    for args in (["K001"], ["K002"], ["--revoke", "K002"]):
        subprocess.run(["sh", str(SAMPLES / "make-device-cert.sh"), *args, str(ca_dir)], env=env, check=True)
    folder = tmp_path / "sample-broker"
    folder.mkdir()
    broker = SampleBroker(folder, ca_dir=ca_dir)
    broker.server.start()
    yield broker
    broker.server.stop()


def script_tls(broker: SampleBroker, identity: str) -> TlsSettings:
    folder = broker.ca.parent
    return TlsSettings(broker.ca, folder / f"{identity}.pem", folder / f"{identity}.key")


def test_certificate_from_the_shipped_script_connects(script_broker, clients):
    client = clients.connect(script_broker, "K001", tls=script_tls(script_broker, "K001"), wait=False)
    assert client.wait_connected(10)


def test_certificate_revoked_with_the_shipped_script_is_refused(script_broker, clients):
    client = clients.connect(script_broker, "K002", tls=script_tls(script_broker, "K002"), wait=False)
    assert not client.wait_connected(REFUSED_WITHIN_S)


# --- kiosk doctor beside a running kiosk ---------------------------------------------------------


def test_kiosk_doctor_with_the_kiosks_certificate_does_not_disconnect_the_kiosk(sample_broker, connect):
    # With use_username_as_clientid any MQTT login under K001's certificate becomes client "K001"
    # and takes over the running kiosk's session. The doctor stops after TLS and says so.
    from app.doctor.probes import BrokerTarget, probe_broker

    tls = sample_broker.tls_for("K001")
    drops: list[str] = []
    connect("K001", tls=tls, on_disconnect=drops.append)
    target = BrokerTarget(
        sample_broker.host, sample_broker.port, tls.ca_file, tls.cert_file, tls.key_file, client_id="K001-doctor"
    )
    assert not target.mqtt_login
    probe_broker(target)
    time.sleep(1)
    assert drops == []


def test_kiosk_doctor_still_sees_the_broker_refuse_a_revoked_certificate(sample_broker):
    from app.doctor.probes import BrokerProbeError, BrokerTarget, probe_broker

    revoked = sample_broker.tls_for("K009")
    sample_broker.revoke(revoked)
    sample_broker.server.restart()
    target = BrokerTarget(sample_broker.host, sample_broker.port, revoked.ca_file, revoked.cert_file, revoked.key_file)
    with pytest.raises(BrokerProbeError, match="certificate|closed"):
        probe_broker(target)
