"""Signed HQ documents: Ed25519 envelopes over canonical JSON (docs/mqtt.md, "Signed document").

`sign_envelope` is HQ's side; `EnvelopeVerifier.verify` is the kiosk's, and raises `PushRejected`
with the contract's reason code for every way an envelope can be wrong. Version (rollback) checks
need the kiosk's state and live in `sync.inbound`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canonical import canonical_bytes
from sync.errors import PayloadError, PushRejected, TopicError
from sync.schemas import SCHEMA_VERSION, iso, parse_object, parse_time, require, require_positive
from sync.signing import TrustedKeys, key_id, sign_object
from sync.topics import MAX_SNAPSHOT_PARTS, Scope

#: Domain separation: a signature made for something else can never verify as a push.
SIGNING_CONTEXT = b"kiosk-hq-push/v1\n"
#: Documents with one topic each (sync.topics.DOCUMENT_TOPICS).
DOCUMENT_TYPES = ("rules", "members", "members_update", "denylist", "denylist_delta", "voucher_keys")
#: A part of a member snapshot: one numbered topic per part (sync.topics.HqTopics.member_part).
PART_TYPE = "members_part"


__all__ = ["DOCUMENT_TYPES", "PART_TYPE", "EnvelopeVerifier", "VerifiedPush", "key_id", "parse_scope", "sign_envelope"]


def sign_envelope(
    private_key: Ed25519PrivateKey,
    *,
    doc_type: str,
    scope: Scope,
    version: int,
    issued_at: dt.datetime,
    not_after: dt.datetime,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Build and sign an envelope; raises `EncodingError` if the payload has floats etc."""
    if doc_type not in DOCUMENT_TYPES and doc_type != PART_TYPE:
        raise ValueError(f"unknown document type {doc_type!r}")
    if version < 1:
        raise ValueError("versions start at 1")
    unsigned = {
        "v": SCHEMA_VERSION,
        "type": doc_type,
        "scope": scope.as_json(),
        "version": version,
        "issued_at": iso(issued_at),
        "not_after": iso(not_after),
        "payload": payload,
    }
    return sign_object(private_key, SIGNING_CONTEXT, unsigned)


@dataclass(frozen=True)
class VerifiedPush:
    """An envelope that passed signature, scope and time checks (not yet the version check)."""

    doc_type: str
    scope: Scope
    version: int
    issued_at: dt.datetime
    not_after: dt.datetime
    payload: dict[str, Any]
    digest: str  # SHA-256 of the canonical payload: tells "same version, other content" apart


def parse_scope(value: Any) -> Scope:
    if not isinstance(value, dict):
        raise PayloadError("scope must be an object")
    try:
        return Scope(require(value, "kind", str), value.get("id"))
    except TopicError as exc:
        raise PayloadError(f"scope: {exc}") from None


def _check_payload_shape(doc_type: str, payload: dict[str, Any]) -> None:
    if doc_type == "rules":
        require(payload, "document", dict)
    elif doc_type in ("members", "members_update", "members_part"):
        require(payload, "members", list)
        ids = require(payload, "acknowledged_event_ids", list)
        if not all(isinstance(i, str) for i in ids):
            raise PayloadError("acknowledged_event_ids must be strings")
        if doc_type == "members_part":
            _check_part_numbers(payload)
    elif doc_type == "denylist":
        require(payload, "entries", list)
    elif doc_type == "denylist_delta":
        base = require(payload, "base_version", int)
        if isinstance(base, bool) or base < 0:
            raise PayloadError("base_version must be a non-negative integer")
        require(payload, "added", list)
        require(payload, "removed", list)
    elif doc_type == "voucher_keys":
        # Only the shape here; each entry is the ledger's to judge (VoucherKeyDirectory.from_payload).
        require(payload, "keys", list)


def _check_part_numbers(payload: dict[str, Any]) -> None:
    """A snapshot part names the snapshot's first version, its own number and the part count."""
    require_positive(payload, "first_version")
    parts = require(payload, "parts", int)
    part = require(payload, "part", int)
    if not 1 <= parts <= MAX_SNAPSHOT_PARTS:
        raise PayloadError(f"parts must be 1..{MAX_SNAPSHOT_PARTS}, got {parts}")
    if not 0 <= part < parts:
        raise PayloadError(f"part must be 0..{parts - 1}, got {part}")


class EnvelopeVerifier:
    """Checks envelopes against the configured HQ keys, this kiosk's identity and the clock."""

    def __init__(
        self, public_keys: Iterable[Ed25519PublicKey], *, device_id: str, store_id: str, skew_s: float = 300.0
    ) -> None:
        self._keys = TrustedKeys(public_keys)
        self._device_id = device_id
        self._store_id = store_id
        self._skew = dt.timedelta(seconds=skew_s)

    @property
    def keys(self) -> TrustedKeys:
        return self._keys

    @property
    def skew(self) -> dt.timedelta:
        return self._skew

    def check_scope(self, scope: Scope, topic_scope: Scope) -> None:
        """The signed scope must be the topic's, and name this kiosk's store or device."""
        if scope != topic_scope:
            raise PushRejected(
                "wrong_scope", f"envelope scope {scope.topic_part!r} arrived on {topic_scope.topic_part!r}"
            )
        if scope.kind == "store" and scope.id != self._store_id:
            raise PushRejected("wrong_scope", f"for store {scope.id}, this is {self._store_id}")
        if scope.kind == "device" and scope.id != self._device_id:
            raise PushRejected("wrong_scope", f"for device {scope.id}, this is {self._device_id}")

    def check_time(self, issued_at: dt.datetime, not_after: dt.datetime, now: dt.datetime) -> None:
        if issued_at > now + self._skew:
            raise PushRejected("not_yet_valid", f"issued_at {iso(issued_at)} is in the future")
        if not_after < now - self._skew:
            raise PushRejected("expired", f"not_after {iso(not_after)} has passed")

    def verify(self, raw: bytes, *, expected_type: str, topic_scope: Scope, now: dt.datetime) -> VerifiedPush:
        try:
            obj = parse_object(raw)
            doc_type = require(obj, "type", str)
        except PayloadError as exc:
            raise PushRejected("malformed", str(exc)) from None
        if doc_type != expected_type:
            raise PushRejected("unexpected_type", f"topic carries {expected_type!r}, envelope says {doc_type!r}")
        if "sig" not in obj or "key_id" not in obj:
            raise PushRejected("unsigned", "envelope has no sig/key_id")
        try:
            scope = parse_scope(obj.get("scope"))
            version = require_positive(obj, "version")
            issued_at = parse_time(obj.get("issued_at"), "issued_at")
            not_after = parse_time(obj.get("not_after"), "not_after")
            payload = require(obj, "payload", dict)
        except PayloadError as exc:
            raise PushRejected("malformed", str(exc)) from None
        self._keys.check(SIGNING_CONTEXT, obj)
        self.check_scope(scope, topic_scope)
        self.check_time(issued_at, not_after, now)
        try:
            _check_payload_shape(doc_type, payload)
        except PayloadError as exc:
            raise PushRejected("malformed", f"payload: {exc}") from None
        digest = hashlib.sha256(canonical_bytes(payload)).hexdigest()
        return VerifiedPush(doc_type, scope, version, issued_at, not_after, payload, digest)
