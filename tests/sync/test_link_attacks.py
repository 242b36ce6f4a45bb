"""Attacks on the HQ link by someone with HQ's broker rights but not HQ's signing key, replayed
against a real Mosquitto, a real HqLink over a real Ledger, and HQ's real listener.

Each test is one attack from the hardening review (issue #17) and the behaviour that now holds.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.acks import AckedEvent, sign_event_ack
from sync.commands import sign_command
from sync.envelope import sign_envelope
from sync.hq.store import HqStore
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import EventMessage, PushAck, Status, dumps
from sync.topics import Scope
from tests.sync.conftest import PREFIX, STORE, seeded_ledger, wait_until

pytestmark = pytest.mark.integration

ACK_TOPIC = f"{PREFIX}/hq/device/K001/ack"
CMD_TOPIC = f"{PREFIX}/hq/device/K001/cmd"


def attacker(broker, client_id: str = "intruder", **settings) -> MqttClient:
    """A client that may write HQ's topics (the plain test broker has no ACL), without HQ's key."""
    client = MqttClient(ConnectionSettings(client_id, broker.host, broker.port, **settings))
    client.start()
    assert client.wait_connected(10)
    return client


def push_acks(recorded: list[PushAck], reason: str) -> list[PushAck]:
    return [a for a in recorded if a.reason == reason]


def security_events(ledger, kind: str) -> list:
    return [e for e in ledger.outbox_pending(1000) if e.type == f"security.{kind}"]


def pending_event(ledger):
    ledger.record_security_event("test_event", b"\x01\x02\x03\x04", {"n": 1})
    (event,) = [e for e in ledger.outbox_pending(100) if e.type == "security.test_event"]
    return event


# --- forged acks (item 2) ----------------------------------------------------------------------


def test_an_unsigned_ack_deletes_nothing_and_is_reported(broker, open_ledger, start_link):
    ledger = seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    event = pending_event(ledger)
    link.notify_outbox()
    forger = attacker(broker)
    forger.publish_and_wait(ACK_TOPIC, dumps({"v": 1, "event_ids": [event.event_id]}))
    wait_until(lambda: link.counters.unverified_acks == 1, what="the forged ack counted")
    assert event.event_id in [e.event_id for e in ledger.outbox_pending(100)]
    reported = wait_until(lambda: security_events(ledger, "unverified_ack"), what="security event")
    assert [e.payload["detail"]["reason"] for e in reported] == ["malformed"]
    forger.stop()


def test_an_ack_signed_with_another_key_deletes_nothing(broker, open_ledger, start_link):
    ledger = seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    event = pending_event(ledger)
    forged = sign_event_ack(
        Ed25519PrivateKey.generate(),
        device_id="K001",
        events=[AckedEvent(event.seq, event.event_id)],
        issued_at=dt.datetime.now(dt.UTC),
    )
    forger = attacker(broker)
    forger.publish_and_wait(ACK_TOPIC, dumps(forged))
    wait_until(lambda: link.counters.unverified_acks == 1, what="the forged ack counted")
    assert event.event_id in [e.event_id for e in ledger.outbox_pending(100)]
    reported = wait_until(lambda: security_events(ledger, "unverified_ack"), what="security event")
    assert [e.payload["detail"]["reason"] for e in reported] == ["unknown_key"]
    forger.stop()


def test_a_genuine_ack_for_another_kiosk_replayed_here_deletes_nothing(broker, open_ledger, start_link, hq_key):
    ledger = seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    event = pending_event(ledger)
    for_k002 = sign_event_ack(
        hq_key, device_id="K002", events=[AckedEvent(event.seq, event.event_id)], issued_at=dt.datetime.now(dt.UTC)
    )
    forger = attacker(broker)
    forger.publish_and_wait(ACK_TOPIC, dumps(for_k002))
    wait_until(lambda: link.counters.unverified_acks == 1, what="the replayed ack counted")
    assert event.event_id in [e.event_id for e in ledger.outbox_pending(100)]
    forger.stop()


def test_forged_acks_do_not_make_a_silent_hq_look_online(broker, open_ledger, start_link, start_listener):
    # Before: any ack, forged or not, counted as HQ answering. Now only verified ones do.
    ledger = seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port, ack_timeout_s=1.0)
    wait_until(lambda: link.online, what="link online")
    event = pending_event(ledger)
    link.notify_outbox()
    wait_until(lambda: not link.online, timeout=10, what="HQ's silence noticed")
    forger = attacker(broker)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        forger.publish_and_wait(ACK_TOPIC, dumps({"v": 1, "event_ids": [event.event_id]}))
        assert not link.online
        time.sleep(0.2)
    forger.stop()
    start_listener(broker.host, broker.port)  # HQ itself: its signed ack deletes the event
    wait_until(lambda: link.online and ledger.outbox_depth() == 0, timeout=20, what="HQ's genuine ack")


def test_hq_acks_are_signed_and_name_seq_and_event_id(broker, open_ledger, start_link, start_listener, hq_key):
    ledger = seeded_ledger(open_ledger)
    seen: list[bytes] = []
    spy = MqttClient(
        ConnectionSettings("spy", broker.host, broker.port, subscriptions=[(ACK_TOPIC, 1)]),
        on_message=lambda m: seen.append(m.payload),
    )
    spy.start()
    assert spy.wait_connected(10)
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port)
    event = pending_event(ledger)
    link.notify_outbox()
    wait_until(lambda: ledger.outbox_depth() == 0, what="event acked")
    wait_until(lambda: seen, what="the ack on the wire")
    ack = json.loads(seen[0])
    assert ack["device_id"] == "K001" and {"seq": event.seq, "event_id": event.event_id} in ack["events"]
    assert ack["key_id"] and ack["sig"]
    spy.stop()


# --- retained and replayed commands (item 3) -----------------------------------------------------


def resync(hq_key, command_id: str = "c-1", **kwargs) -> bytes:
    issued = kwargs.pop("issued_at", dt.datetime.now(dt.UTC))
    return dumps(
        sign_command(
            hq_key, command="resync", command_id=command_id, scope=Scope.device("K001"), issued_at=issued, **kwargs
        )
    )


def recorded_push_acks(broker) -> tuple[MqttClient, list[PushAck]]:
    from sync.schemas import parse_push_ack

    acks: list[PushAck] = []
    client = MqttClient(
        ConnectionSettings("hq-acks", broker.host, broker.port, subscriptions=[(f"{PREFIX}/kiosk/K001/push-ack", 1)]),
        on_message=lambda m: acks.append(parse_push_ack(m.payload)),
    )
    client.start()
    assert client.wait_connected(10)
    return client, acks


def test_a_retained_resync_is_never_executed_and_cannot_loop(broker, open_ledger, start_link, hq_key):
    # Before: resync resubscribed, the broker redelivered the retained command: 405 resyncs in 15 s.
    seeded_ledger(open_ledger)
    watcher, acks = recorded_push_acks(broker)
    forger = attacker(broker)
    forger.publish_and_wait(CMD_TOPIC, resync(hq_key), retain=True)  # even a genuine one, retained
    link = start_link(broker.host, broker.port)
    wait_until(lambda: push_acks(acks, "retained"), what="the retained command refused")
    time.sleep(2)
    assert len(push_acks(acks, "retained")) == 1
    assert not [a for a in acks if a.type == "command" and a.status == "applied"]
    assert link.counters.refused_commands == 1
    forger.clear_retained(CMD_TOPIC)
    forger.stop(), watcher.stop()


def test_a_command_is_applied_once_per_id(broker, open_ledger, start_link, hq_key):
    seeded_ledger(open_ledger)
    watcher, acks = recorded_push_acks(broker)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    replayer = attacker(broker)
    command = resync(hq_key, "c-once")
    replayer.publish_and_wait(CMD_TOPIC, command)
    replayer.publish_and_wait(CMD_TOPIC, command)  # captured off the wire and sent again
    wait_until(lambda: len([a for a in acks if a.type == "command"]) == 2, what="both answered")
    assert [(a.status, a.reason) for a in acks if a.type == "command"] == [("applied", None), ("rejected", "duplicate")]
    replayer.stop(), watcher.stop()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda key: resync(Ed25519PrivateKey.generate()), "unknown_key"),
        (
            lambda key: dumps({"v": 1, "command": "resync", "id": "c-9", "issued_at": "2026-12-03T10:00:00+00:00"}),
            "malformed",
        ),
        (lambda key: resync(key, issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)), "expired"),
    ],
    ids=["wrong-key", "old-unsigned-format", "stale"],
)
def test_commands_not_from_hq_or_stale_are_refused(broker, open_ledger, start_link, hq_key, make, reason):
    seeded_ledger(open_ledger)
    watcher, acks = recorded_push_acks(broker)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    sender = attacker(broker)
    sender.publish_and_wait(CMD_TOPIC, make(hq_key))
    wait_until(lambda: [a for a in acks if a.type == "command"], what="the refusal")
    assert [(a.status, a.reason) for a in acks if a.type == "command"] == [("rejected", reason)]
    sender.stop(), watcher.stop()


# --- oversized messages (item 4) -----------------------------------------------------------------


def rules_envelope(hq_key, version: int, filler: int = 0) -> bytes:
    now = dt.datetime.now(dt.UTC)
    from kiosk.ledger.demo import demo_rules

    document = demo_rules()
    if filler:
        document = {**document, "padding": "x" * filler}
    return dumps(
        sign_envelope(
            hq_key,
            doc_type="rules",
            scope=Scope.fleet(),
            version=version,
            issued_at=now,
            not_after=now + dt.timedelta(days=1),
            payload={"document": document},
        )
    )


def test_mqtt5_kiosk_is_never_sent_a_message_above_its_maximum_packet_size(broker, open_ledger, start_link, hq_key):
    seeded_ledger(open_ledger)
    watcher, acks = recorded_push_acks(broker)
    link = start_link(broker.host, broker.port, max_push_bytes=64 * 1024)
    wait_until(lambda: link._client.connected and link._client.protocol == "5", what="MQTT 5 link")
    sender = attacker(broker)
    sender.publish_and_wait(f"{PREFIX}/hq/fleet/rules", rules_envelope(hq_key, 2, filler=1024 * 1024))
    sender.publish_and_wait(f"{PREFIX}/hq/fleet/rules", rules_envelope(hq_key, 3))
    wait_until(lambda: [a for a in acks if a.type == "rules"], what="the small document answered")
    time.sleep(0.5)  # messages from one client arrive in order: the big one would have come first
    # The broker dropped the big one: the kiosk never saw it, so there is nothing to refuse.
    assert [(a.version, a.status) for a in acks if a.type == "rules"] == [(3, "applied")]
    assert link.counters.dropped_inbound == 0
    sender.stop(), watcher.stop()


def test_mqtt311_kiosk_refuses_an_oversized_message_before_queueing_it(broker, open_ledger, start_link, hq_key):
    seeded_ledger(open_ledger)
    watcher, acks = recorded_push_acks(broker)
    link = start_link(broker.host, broker.port, max_push_bytes=64 * 1024, prefer_v5=False)
    wait_until(lambda: link._client.connected, what="MQTT 3.1.1 link")
    sender = attacker(broker)
    sender.publish_and_wait(f"{PREFIX}/hq/fleet/rules", rules_envelope(hq_key, 2, filler=1024 * 1024))
    sender.publish_and_wait(ACK_TOPIC, b"{" + b" " * (300 * 1024) + b"}")
    wait_until(lambda: push_acks(acks, "oversized"), what="the document refused")
    wait_until(lambda: link.counters.unverified_acks == 1, what="the ack refused")
    sender.stop(), watcher.stop()


# --- HQ binds what a kiosk says to its topic (item 5) -----------------------------------------------


def test_hq_refuses_a_push_ack_about_another_kiosk(broker, start_listener, tmp_path, clock):
    listener = start_listener(broker.host, broker.port)
    k001 = attacker(broker, "K001")
    claim = PushAck("K002", "rules", 9, "applied", None, None, "t", clock.now())
    k001.publish_and_wait(f"{PREFIX}/kiosk/K001/push-ack", dumps(claim.to_json()))
    wait_until(lambda: listener.refused == 1, what="the claim refused")
    assert HqStore(tmp_path / "hq.sqlite").push_acks() == []
    k001.stop()


def test_hq_refuses_a_status_moving_a_kiosk_to_another_store_and_raises_an_alarm(
    broker, start_listener, tmp_path, clock
):
    listener = start_listener(broker.host, broker.port)
    k001 = attacker(broker, "K001")
    topic = f"{PREFIX}/kiosk/K001/status"
    k001.publish_and_wait(topic, dumps(Status("K001", STORE, "online", clock.now(), "1", "5").to_json()))
    store = HqStore(tmp_path / "hq.sqlite")
    wait_until(lambda: store.device_store("K001") == STORE, what="status recorded")
    k001.publish_and_wait(topic, dumps(Status("K001", "S07", "online", clock.now(), "1", "5").to_json()))
    wait_until(lambda: listener.refused == 1, what="the move refused")
    assert store.device_store("K001") == STORE
    assert [(a["kind"], a["device_id"]) for a in store.alarms(open_only=True)] == [("store_claim", "K001")]
    k001.stop()


def test_hq_raises_an_alarm_on_a_sequence_gap_and_clears_it_when_filled(broker, start_listener, tmp_path, clock):
    start_listener(broker.host, broker.port, gap_grace_s=0.5)
    k001 = attacker(broker, "K001")

    def send(seq: int) -> None:
        event = EventMessage("K001", seq, f"e-{seq}", "test", clock.now(), False, False, {})
        k001.publish_and_wait(f"{PREFIX}/kiosk/K001/events", dumps(event.to_json()))

    send(1), send(3)
    store = HqStore(tmp_path / "hq.sqlite")
    alarm = wait_until(lambda: store.alarms(open_only=True), what="gap alarm")
    assert (alarm[0]["kind"], alarm[0]["detail"]) == ("seq_gap", "missing seq 2")
    send(2)
    wait_until(lambda: not store.alarms(open_only=True), what="alarm cleared")
    k001.stop()


# --- client-id takeover (item 1, the kiosk's side) ---------------------------------------------------


def test_repeated_takeovers_of_the_kiosks_client_id_are_counted_and_reported(broker, open_ledger, start_link):
    # The shipped broker sample makes this impossible (use_username_as_clientid); a broker without
    # it lets anyone connect as "K001". The kiosk must then say so instead of flapping silently.
    ledger = seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link._client.connected, what="link connected")
    for _ in range(4):
        thief = attacker(broker, "K001", persistent_session=False)
        wait_until(lambda: not link._client.connected, what="the kiosk thrown off")
        thief.stop()
        wait_until(lambda: link._client.connected, timeout=20, what="the kiosk back")
    # Mosquitto 2.0.11 closes the socket without a reason code: the watch sees short connections.
    counted = link.counters.session_takeovers + link.counters.short_connections
    assert counted >= 3
    reported = wait_until(lambda: security_events(ledger, "session_takeover"), what="security event")
    assert len(reported) == 1 and reported[0].payload["detail"]["disconnects"] >= 3
