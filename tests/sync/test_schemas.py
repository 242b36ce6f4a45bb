"""Payload schemas of docs/mqtt.md: what builders produce parses back, and bad payloads are named."""

import datetime as dt
import json

import pytest

from sync.errors import PayloadError
from sync.schemas import (
    EventMessage,
    PushAck,
    Status,
    dumps,
    parse_event,
    parse_push_ack,
    parse_status,
    parse_telemetry,
    telemetry_json,
)

AT = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
EVENT = EventMessage("K001", 42, "e-1", "redemption_confirmed", AT, False, True, {"points": 100})


def event_json(**changes):
    body = EVENT.to_json()
    body.update(changes)
    return json.dumps(body).encode()


def test_event_round_trips():
    assert parse_event(dumps(EVENT.to_json())) == EVENT


def test_status_round_trips():
    status = Status("K001", "S01", "offline", AT, "0.1.0", "5")
    assert parse_status(dumps(status.to_json())) == status


def test_push_ack_round_trips():
    ack = PushAck("K001", "rules", 7, "rejected", "expired", "not_after passed", "t", AT)
    assert parse_push_ack(dumps(ack.to_json())) == ack


def test_telemetry_puts_reader_health_in_its_own_field():
    body = telemetry_json(
        device_id="K001",
        at=AT,
        uptime_s=5,
        outbox_depth=3,
        rules_version=1,
        denylist_version=2,
        members_version=0,
        free_disk_bytes=10,
        connected_since=None,
        source={"reader": {"state": "ok"}, "fps": 30},
    )
    assert (body["reader"], body["extra"]) == ({"state": "ok"}, {"fps": 30})
    assert parse_telemetry(dumps(body))["outbox_depth"] == 3


def test_telemetry_names_the_voucher_key_directory_the_kiosk_holds():
    body = telemetry_json(
        device_id="K001",
        at=AT,
        uptime_s=5,
        outbox_depth=0,
        rules_version=1,
        denylist_version=2,
        members_version=3,
        voucher_keys_version=4,
        free_disk_bytes=10,
        connected_since=None,
        source={},
    )
    assert parse_telemetry(dumps(body))["voucher_keys_version"] == 4


def test_unknown_fields_are_ignored_for_forward_compatibility():
    assert parse_event(event_json(new_optional_field="x")) == EVENT


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"v": 2}, "schema version"),
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": "42"}, "seq"),
        ({"event_id": ""}, "event_id"),
        ({"created_at": "2024-05-01T09:30:00"}, "created_at"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"device_id": "K/1"}, "device_id"),
        ({"payload": []}, "payload"),
        ({"offline": "no"}, "offline"),
    ],
)
def test_bad_event_fields_are_named(changes, field):
    with pytest.raises(PayloadError, match=field):
        parse_event(event_json(**changes))


def test_naive_times_cannot_be_written():
    with pytest.raises(ValueError):
        Status("K001", "S01", "online", dt.datetime(2024, 1, 1), "", "5").to_json()
