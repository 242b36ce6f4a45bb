"""HQ's listener over HQ's own database: every kiosk event stored and applied exactly once, on
SQLite and on PostgreSQL, also with two HQ listeners sharing the stream (a real Mosquitto)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.service.listener_store import SqlListenerStore
from hq.store import tables as t
from sync.hq.listener import HqListener
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import EventMessage, dumps
from tests.sync.broker import Mosquitto
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration
PREFIX = "acme/kiosk"
AT = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def event(seq: int, device: str = "K001", event_id: str | None = None) -> EventMessage:
    return EventMessage(device, seq, event_id or f"e-{device}-{seq}", "test", AT, False, False, {"member_id": "M1"})


def counting_applier():
    """Applies an event by writing one entries row: the effect whose count must equal the events."""
    applied: list[str] = []
    lock = threading.Lock()

    def apply(conn, ev, now):
        conn.execute(t.entries.insert().values(member_id="M1", kind="test", ref=ev.event_id, rules_version=0, at=now))
        with lock:
            applied.append(ev.event_id)
        return "applied"

    return apply, applied


def effects(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(t.entries.c.ref)).scalars())


def test_an_event_is_stored_and_applied_once_however_often_it_arrives(engine):
    apply, _ = counting_applier()
    store = SqlListenerStore(engine, apply)
    first = store.record_events([event(1), event(2)], AT)
    again = store.record_events([event(2), event(1), event(3)], AT)
    assert (len(first.new), len(again.new), len(again.duplicates)) == (2, 1, 2)
    assert effects(engine) == ["e-K001-1", "e-K001-2", "e-K001-3"]


def test_the_same_seq_with_another_event_id_is_kept_as_a_conflict_not_applied(engine):
    apply, _ = counting_applier()
    store = SqlListenerStore(engine, apply)
    store.record_events([event(1)], AT)
    result = store.record_events([event(1, event_id="e-other")], AT)
    assert [e.event_id for e in result.conflicts] == ["e-other"]
    assert effects(engine) == ["e-K001-1"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.event_conflicts.c.event_id)).scalars().all() == ["e-other"]


def test_a_failed_effect_stores_nothing_so_the_kiosk_resends(engine):
    def failing(conn, ev, now):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        SqlListenerStore(engine, failing).record_events([event(1)], AT)
    apply, _ = counting_applier()
    assert len(SqlListenerStore(engine, apply).record_events([event(1)], AT).new) == 1


def test_gaps_and_missing_ranges(engine):
    apply, _ = counting_applier()
    store = SqlListenerStore(engine, apply)
    store.record_events([event(1), event(4), event(5), event(8)], AT)
    assert store.gaps("K001") == 4
    assert store.missing_seqs("K001") == [(2, 3), (6, 7)]


def test_two_hq_listeners_sharing_the_stream_apply_each_event_once(engine, tmp_path):
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    key = Ed25519PrivateKey.generate()
    apply, applied = counting_applier()
    listeners = [
        HqListener(
            signing_key=key,
            store_factory=lambda: SqlListenerStore(engine, apply),
            prefix=PREFIX,
            host="127.0.0.1",
            port=broker.port,
            client_id=f"hq-{n}",
            batch_size=7,
        )
        for n in (1, 2)
    ]
    try:
        for listener in listeners:
            listener.start()
            assert listener.wait_connected(10)
        kiosk = MqttClient(ConnectionSettings("K001", "127.0.0.1", broker.port))
        kiosk.start()
        assert kiosk.wait_connected(10)
        for _ in range(3):  # every event three times, as resends after ack timeouts do
            for seq in range(1, 101):
                kiosk.publish(f"{PREFIX}/kiosk/K001/events", dumps(event(seq).to_json()), qos=1)
        wait_until(lambda: sum(x.stored + x.duplicates for x in listeners) >= 300, timeout=60, what="all deliveries")
        kiosk.stop()
    finally:
        for listener in listeners:
            listener.stop()
        broker.stop()
    assert all(x.stored > 0 for x in listeners), "the share group split the stream"
    assert effects(engine) == sorted(f"e-K001-{s}" for s in range(1, 101))
    assert sorted(applied) == sorted(f"e-K001-{s}" for s in range(1, 101))


def test_a_batch_the_database_refuses_is_not_acked_and_the_listener_carries_on(engine, tmp_path):
    # Two HQ processes can deadlock on PostgreSQL; the loser's batch fails. Before, that killed the
    # listener thread and its share of the stream went unread. Now it is left unacknowledged (the
    # kiosk resends) and the next batch is stored.
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    apply, _ = counting_applier()
    failures = iter([True])

    def flaky(conn, ev, now):
        if next(failures, False):
            raise RuntimeError("deadlock detected")
        return apply(conn, ev, now)

    listener = HqListener(
        signing_key=Ed25519PrivateKey.generate(),
        store_factory=lambda: SqlListenerStore(engine, flaky),
        prefix=PREFIX,
        host="127.0.0.1",
        port=broker.port,
        client_id="hq-1",
    )
    try:
        listener.start()
        assert listener.wait_connected(10)
        kiosk = MqttClient(ConnectionSettings("K001", "127.0.0.1", broker.port))
        kiosk.start()
        assert kiosk.wait_connected(10)
        kiosk.publish_and_wait(f"{PREFIX}/kiosk/K001/events", dumps(event(1).to_json()))
        wait_until(lambda: listener.failed_batches == 1, what="the refused batch")
        kiosk.publish_and_wait(f"{PREFIX}/kiosk/K001/events", dumps(event(1).to_json()))  # the resend
        wait_until(lambda: listener.stored == 1, what="the resend stored")
        kiosk.stop()
    finally:
        listener.stop()
        broker.stop()
    assert effects(engine) == ["e-K001-1"]
