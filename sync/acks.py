"""Event acks signed by HQ (docs/mqtt.md "event_ack"): the only thing that empties the outbox.

An ack names, for one device, the (seq, event_id) pairs HQ has committed, and is signed with HQ's
key under its own context. Anyone who can merely write HQ's topics on the broker (a leaked broker
credential, a bridge HQ does not run) can therefore no longer make a kiosk drop events HQ never
stored. A replayed genuine ack names events HQ really has, so it is harmless and carries no
freshness check; the relay does not count one as a sign of life either (`sync.relay`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.errors import PayloadError, PushRejected
from sync.schemas import SCHEMA_VERSION, device_id_field, iso, parse_object, parse_time, require, require_positive
from sync.signing import TrustedKeys, sign_object

ACK_CONTEXT = b"kiosk-hq-ack/v1\n"
#: HQ splits its acks so none is larger: a kiosk refuses bigger ones before parsing a byte.
MAX_ACK_EVENTS = 500
MAX_ACK_BYTES = 128 * 1024


@dataclass(frozen=True)
class AckedEvent:
    seq: int
    event_id: str


def sign_event_ack(
    private_key: Ed25519PrivateKey, *, device_id: str, events: Sequence[AckedEvent], issued_at: dt.datetime
) -> dict[str, Any]:
    if not 1 <= len(events) <= MAX_ACK_EVENTS:
        raise ValueError(f"an ack names 1..{MAX_ACK_EVENTS} events, not {len(events)}")
    unsigned = {
        "v": SCHEMA_VERSION,
        "type": "event_ack",
        "device_id": device_id,
        "events": [{"seq": e.seq, "event_id": e.event_id} for e in events],
        "issued_at": iso(issued_at),
    }
    return sign_object(private_key, ACK_CONTEXT, unsigned)


def chunked(events: Sequence[AckedEvent]) -> list[list[AckedEvent]]:
    """HQ's side: one signed ack per `MAX_ACK_EVENTS` events."""
    return [list(events[i : i + MAX_ACK_EVENTS]) for i in range(0, len(events), MAX_ACK_EVENTS)]


def verify_event_ack(raw: bytes, *, keys: TrustedKeys, device_id: str) -> list[AckedEvent]:
    """The events a genuine ack for `device_id` names; `PushRejected` with the reason otherwise."""
    if len(raw) > MAX_ACK_BYTES:
        raise PushRejected("oversized", f"ack of {len(raw)} bytes > {MAX_ACK_BYTES}")
    try:
        obj = parse_object(raw)
        if require(obj, "type", str) != "event_ack":
            raise PayloadError("type is not event_ack")
        claimed = device_id_field(obj)
        items = require(obj, "events", list)
        parse_time(obj.get("issued_at"), "issued_at")
        if not 1 <= len(items) <= MAX_ACK_EVENTS:
            raise PayloadError(f"events: 1..{MAX_ACK_EVENTS} entries, got {len(items)}")
        events = [_acked_event(item) for item in items]
    except PayloadError as exc:
        raise PushRejected("malformed", str(exc)) from None
    keys.check(ACK_CONTEXT, obj)
    if claimed != device_id:
        raise PushRejected("wrong_device", f"ack for {claimed}, this is {device_id}")
    return events


def _acked_event(item: Any) -> AckedEvent:
    if not isinstance(item, dict):
        raise PayloadError("events: each entry is an object")
    event_id = require(item, "event_id", str)
    if not event_id:
        raise PayloadError("events: empty event_id")
    return AckedEvent(require_positive(item, "seq"), event_id)
