"""Outbox: one event per ledger change, in sequence; sequence numbers never repeat; acks idempotent."""

from __future__ import annotations

from tests.ledger.conftest import with_member

UID = bytes.fromhex("04a1b2c3")


def test_sequence_starts_at_one_and_events_come_in_order(ledger):
    member_id = with_member(ledger, points=5000)
    ledger.redeem("i1", member_id, "off-5", online=True)
    ledger.deny_card(UID, "rollback")
    events = ledger.outbox_pending(10)
    assert [e.seq for e in events] == [1, 2]
    assert [e.type for e in events] == ["redemption", "security.card_denied"]
    assert all(e.created_at.tzinfo is not None for e in events)


def test_sequence_never_repeats_after_ack_and_restart(ledger, open_ledger):
    member_id = with_member(ledger, points=5000)
    ledger.redeem("i1", member_id, "off-5", online=True)
    ledger.outbox_ack([e.event_id for e in ledger.outbox_pending(10)])
    assert ledger.outbox_depth() == 0
    ledger.close()
    again = open_ledger()
    again.redeem("i2", member_id, "off-5", online=True)
    assert [e.seq for e in again.outbox_pending(10)] == [2]


def test_ack_is_idempotent_and_ignores_unknown_ids(ledger):
    member_id = with_member(ledger, points=5000)
    ledger.redeem("i1", member_id, "off-5", online=True)
    ledger.redeem("i2", member_id, "off-5", online=True)
    first = ledger.outbox_pending(1)[0].event_id
    assert ledger.outbox_ack([first, "no-such-event"]) == 1
    assert ledger.outbox_ack([first]) == 0
    assert ledger.outbox_depth() == 1


def test_pending_respects_the_limit(ledger):
    for i in range(5):
        ledger.record_security_event("tamper", UID, {"n": i})
    assert [e.seq for e in ledger.outbox_pending(3)] == [1, 2, 3]


def test_security_event_is_written_to_the_outbox(ledger):
    event = ledger.record_security_event("rollback", UID, "counter 5 < 9")
    assert event.type == "security.rollback" and event.payload["uid"] == UID.hex()
    assert ledger.outbox_pending(5) == [event]


def test_event_id_of_a_redemption_is_stable_for_its_intent(ledger):
    member_id = with_member(ledger, points=5000)
    ledger.redeem("i1", member_id, "off-5", online=True)
    event = ledger.outbox_pending(1)[0]
    assert ledger.conn.execute("SELECT event_id FROM vouchers WHERE intent_id = 'i1'").fetchone()[0] == event.event_id


def test_redemption_event_id_is_the_uuid5_of_device_and_intent():
    import uuid

    from kiosk.ledger.redemption import _EVENT_NS, event_id_for

    for device, intent in (("kiosk-01", "i1"), ("k", "9f1c" * 8), ("设备", "意图-1"), ("a/b", "")):
        assert event_id_for(device, intent) == str(uuid.uuid5(_EVENT_NS, f"{device}/{intent}"))
