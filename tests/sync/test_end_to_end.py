"""End to end against a real Mosquitto and the real Ledger: redemption -> HQ stores it once -> ack
-> the kiosk's outbox is empty; status, telemetry and commands on the way."""

from __future__ import annotations

import pytest

from sync.commands import sign_command
from sync.hq.store import HqStore
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import dumps
from sync.topics import Scope
from tests.sync.conftest import PREFIX, seeded_ledger, wait_until

pytestmark = pytest.mark.integration


def test_redemption_reaches_hq_once_and_leaves_the_outbox(broker, open_ledger, start_link, start_listener, tmp_path):
    # kiosk redeems while the link is down -> link starts -> HQ stores, acks -> outbox empty
    ledger = seeded_ledger(open_ledger)
    ledger.redeem("intent-1", "M1", "off-5", online=False)
    pending = ledger.outbox_pending(100)
    assert pending, "the redemption must have written an outbox event"
    listener = start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: ledger.outbox_depth() == 0, what="outbox drained")
    stored = HqStore(tmp_path / "hq.sqlite").events("K001")
    assert [(e["seq"], e["event_id"]) for e in stored] == [(p.seq, p.event_id) for p in pending]
    assert stored[0]["type"] == "redemption" and stored[0]["offline"] is True
    assert stored[0]["historical"] is True  # created before this connection came up
    assert link.online and listener.stored == len(pending)


def test_events_written_while_online_are_sent_on_notify(broker, open_ledger, start_link, start_listener, tmp_path):
    ledger = seeded_ledger(open_ledger)
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link.online and ledger.outbox_depth() == 0, what="first drain")
    ledger.redeem("intent-2", "M1", "off-5", online=True)
    link.notify_outbox()
    wait_until(lambda: ledger.outbox_depth() == 0, what="second drain")
    stored = HqStore(tmp_path / "hq.sqlite").events("K001")
    assert stored[-1]["type"] == "redemption" and stored[-1]["historical"] is False


def test_status_is_retained_online_and_offline_after_a_clean_stop(
    broker, open_ledger, start_link, start_listener, tmp_path
):
    seeded_ledger(open_ledger)
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port)
    store = HqStore(tmp_path / "hq.sqlite")
    wait_until(lambda: [d["state"] for d in store.devices()] == ["online"], what="online status")
    link.stop()
    wait_until(lambda: [d["state"] for d in store.devices()] == ["offline"], what="offline status")


def test_telemetry_reports_versions_outbox_and_reader(broker, open_ledger, start_link, start_listener, tmp_path):
    seeded_ledger(open_ledger)
    start_listener(broker.host, broker.port)
    start_link(broker.host, broker.port)
    store = HqStore(tmp_path / "hq.sqlite")
    telemetry = wait_until(lambda: store.devices() and store.devices()[0]["telemetry"], what="telemetry")
    assert telemetry["rules_version"] == 1 and telemetry["members_version"] == 1
    assert telemetry["reader"] == {"state": "ok"} and telemetry["free_disk_bytes"] > 0
    assert telemetry["outbox_depth"] >= 0


def test_request_telemetry_and_unknown_commands_are_answered(
    broker, open_ledger, start_link, start_listener, tmp_path, clock, hq_key
):
    seeded_ledger(open_ledger)
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link.online, what="link online")
    hq = MqttClient(ConnectionSettings("hq-cmd", broker.host, broker.port))
    hq.start()
    assert hq.wait_connected(10)
    for name in ("request_telemetry", "self_destruct"):
        command = sign_command(
            hq_key, command=name, command_id=f"c-{name}", scope=Scope.device("K001"), issued_at=clock.now()
        )
        hq.publish_and_wait(f"{PREFIX}/hq/device/K001/cmd", dumps(command))
    hq.stop()
    store = HqStore(tmp_path / "hq.sqlite")
    acks = wait_until(lambda: len(store.push_acks("K001")) >= 2 and store.push_acks("K001"), what="command acks")
    assert [(a["status"], a["reason"]) for a in acks] == [("applied", None), ("rejected", "unknown_command")]


def test_fleet_view_shows_online_kiosks_with_versions(broker, open_ledger, start_link):
    from sync.hq.fleet import collect_fleet, format_table
    from sync.topics import HqTopics

    seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port)
    wait_until(lambda: link.online, what="link online")
    rows = wait_until(
        lambda: [
            r
            for r in collect_fleet(
                ConnectionSettings("hq-fleet", broker.host, broker.port), HqTopics(PREFIX), wait_s=0.5
            )
            if r.rules_version is not None
        ],
        what="fleet row with telemetry",
    )
    assert (rows[0].device_id, rows[0].state, rows[0].rules_version) == ("K001", "online", 1)
    assert "K001" in format_table(rows)


def test_the_same_exchange_works_over_mqtt_3_1_1(broker, open_ledger, start_link, start_listener, tmp_path):
    # a broker without MQTT 5 (the link falls back to 3.1.1): redemption -> HQ once -> ack -> empty
    ledger = seeded_ledger(open_ledger)
    ledger.redeem("intent-311", "M1", "off-5", online=False)
    pending = ledger.outbox_pending(100)
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port, prefer_v5=False)
    wait_until(lambda: ledger.outbox_depth() == 0, what="outbox drained over 3.1.1")
    stored = HqStore(tmp_path / "hq.sqlite").events("K001")
    assert [(e["seq"], e["event_id"]) for e in stored] == [(p.seq, p.event_id) for p in pending]
    assert link.online
