"""Payload schemas of docs/mqtt.md (schema version 1): builders and strict parsers.

Builders return plain dicts ready for `json.dumps`; parsers take the raw bytes of a message and
return frozen objects, raising `PayloadError` with the offending field named. Unknown fields are
ignored (a newer sender may add optional ones); missing or mistyped ones are errors.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.canonical import loads_strict
from sync.errors import PayloadError, TopicError
from sync.ids import check_id

SCHEMA_VERSION = 1
PUSH_STATUSES = ("applied", "current", "rejected")


def iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the contract carries its offset")
    return moment.isoformat()


def parse_time(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected an RFC 3339 time string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{field}: {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise PayloadError(f"{field}: {value!r} has no UTC offset")
    return moment


def require(obj: Mapping[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    if field not in obj:
        raise PayloadError(f"missing field {field!r}")
    value = obj[field]
    # bool is an int: a `true` must not pass for a version or a sequence number.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise PayloadError(f"field {field!r}: expected {kind}, got a boolean")
    if not isinstance(value, kind):
        raise PayloadError(f"field {field!r}: expected {kind}, got {type(value).__name__}")
    return value


#: Versions and sequence numbers are stored as SQLite INTEGERs (signed 64 bits). A larger one
#: used to be applied by the ledger and then fail to be recorded: the line was wedged for good.
MAX_INTEGER = 2**63 - 1


def require_positive(obj: Mapping[str, Any], field: str) -> int:
    value = require(obj, field, int)
    if not 1 <= value <= MAX_INTEGER:
        raise PayloadError(f"field {field!r}: must be a positive integer of at most 63 bits, got {value}")
    return value


def parse_object(raw: bytes) -> dict[str, Any]:
    """Strict JSON object with the schema version we speak."""
    obj = loads_strict(raw)
    if not isinstance(obj, dict):
        raise PayloadError("payload is not a JSON object")
    version = require(obj, "v", int)
    if version != SCHEMA_VERSION:
        raise PayloadError(f"schema version {version} is not supported (we speak {SCHEMA_VERSION})")
    return obj


def dumps(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def device_id_field(obj: Mapping[str, Any]) -> str:
    try:
        return check_id(require(obj, "device_id", str), "device_id")
    except TopicError as exc:
        raise PayloadError(str(exc)) from None


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    device_id: str
    store_id: str
    state: str  # "online" | "offline"
    at: dt.datetime
    software: str
    protocol: str
    #: How the software was installed (app/package_state.py): {"source", "version", "status", "detail"}.
    package: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body = {
            "v": SCHEMA_VERSION,
            "device_id": self.device_id,
            "store_id": self.store_id,
            "state": self.state,
            "at": iso(self.at),
            "software": self.software,
            "protocol": self.protocol,
        }
        if self.package is not None:
            body["package"] = dict(self.package)
        return body


def parse_status(raw: bytes) -> Status:
    obj = parse_object(raw)
    state = require(obj, "state", str)
    if state not in ("online", "offline"):
        raise PayloadError(f"state {state!r} is not online/offline")
    return Status(
        device_id_field(obj),
        require(obj, "store_id", str),
        state,
        parse_time(obj.get("at"), "at"),
        str(obj.get("software", "")),
        str(obj.get("protocol", "")),
        obj["package"] if isinstance(obj.get("package"), dict) else None,
    )


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventMessage:
    device_id: str
    seq: int
    event_id: str
    type: str
    created_at: dt.datetime
    offline: bool
    historical: bool
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "device_id": self.device_id,
            "seq": self.seq,
            "event_id": self.event_id,
            "type": self.type,
            "created_at": iso(self.created_at),
            "offline": self.offline,
            "historical": self.historical,
            "payload": self.payload,
        }


def parse_event(raw: bytes) -> EventMessage:
    obj = parse_object(raw)
    event_id = require(obj, "event_id", str)
    if not event_id:
        raise PayloadError("event_id is empty")
    return EventMessage(
        device_id=device_id_field(obj),
        seq=require_positive(obj, "seq"),
        event_id=event_id,
        type=require(obj, "type", str),
        created_at=parse_time(obj.get("created_at"), "created_at"),
        offline=require(obj, "offline", bool),
        historical=require(obj, "historical", bool),
        payload=require(obj, "payload", dict),
    )


# --- push acks (kiosk -> HQ) -------------------------------------------------------------------


@dataclass(frozen=True)
class PushAck:
    device_id: str
    type: str | None
    version: int | None
    status: str
    reason: str | None
    detail: str | None
    topic: str
    at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "device_id": self.device_id,
            "type": self.type,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "topic": self.topic,
            "at": iso(self.at),
        }


def parse_push_ack(raw: bytes) -> PushAck:
    obj = parse_object(raw)
    status = require(obj, "status", str)
    if status not in PUSH_STATUSES:
        raise PayloadError(f"status {status!r} is not one of {PUSH_STATUSES}")
    version = obj.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_INTEGER
    ):
        raise PayloadError("version must be an integer of at most 63 bits or null")
    # HQ stores these columns as they are: a list or an object there raised out of the listener
    # (sqlite3.ProgrammingError) and stopped it for every kiosk.
    for field in ("type", "reason", "detail"):
        if obj.get(field) is not None and not isinstance(obj[field], str):
            raise PayloadError(f"field {field!r}: expected text or null, got {type(obj[field]).__name__}")
    return PushAck(
        device_id_field(obj),
        obj.get("type"),
        version,
        status,
        obj.get("reason"),
        obj.get("detail"),
        str(obj.get("topic", "")),
        parse_time(obj.get("at"), "at"),
    )


# --- telemetry -----------------------------------------------------------------------------------


def telemetry_json(
    *,
    device_id: str,
    at: dt.datetime,
    uptime_s: int,
    outbox_depth: int,
    rules_version: int,
    denylist_version: int,
    members_version: int,
    free_disk_bytes: int,
    connected_since: dt.datetime | None,
    source: Mapping[str, Any],
    link: Mapping[str, int] | None = None,
    voucher_keys_version: int = 0,
) -> dict[str, Any]:
    extra = dict(source)
    reader = extra.pop("reader", None)
    return {
        "v": SCHEMA_VERSION,
        "device_id": device_id,
        "at": iso(at),
        "uptime_s": uptime_s,
        "outbox_depth": outbox_depth,
        "rules_version": rules_version,
        "denylist_version": denylist_version,
        "members_version": members_version,
        # Which key directory the kiosk holds: HQ sees when a revocation has reached every kiosk.
        "voucher_keys_version": voucher_keys_version,
        "free_disk_bytes": free_disk_bytes,
        "connected_since": iso(connected_since) if connected_since else None,
        "reader": reader,
        "link": dict(link or {}),
        "extra": extra,
    }


def parse_telemetry(raw: bytes) -> dict[str, Any]:
    obj = parse_object(raw)
    device_id_field(obj)
    for field in ("uptime_s", "outbox_depth", "rules_version", "denylist_version"):
        require(obj, field, int)
    return obj
