"""Signed envelopes: what HQ signs verifies on the kiosk, and every kind of bad envelope has its reason."""

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import EnvelopeVerifier, key_id, sign_envelope
from sync.errors import EncodingError, PushRejected
from sync.topics import Scope

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
HQ_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
VERIFIER = EnvelopeVerifier([HQ_KEY.public_key()], device_id="K001", store_id="S01", skew_s=300)


def envelope(
    key=HQ_KEY,
    doc_type="rules",
    scope=Scope.fleet(),
    version=3,
    issued_at=NOW - dt.timedelta(hours=1),
    not_after=NOW + dt.timedelta(days=1),
    payload=None,
):
    return sign_envelope(
        key,
        doc_type=doc_type,
        scope=scope,
        version=version,
        issued_at=issued_at,
        not_after=not_after,
        payload=payload if payload is not None else {"document": {"tiers": []}},
    )


def raw(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def verify(body_or_raw, doc_type="rules", scope=Scope.fleet(), now=NOW):
    data = body_or_raw if isinstance(body_or_raw, bytes) else raw(body_or_raw)
    return VERIFIER.verify(data, expected_type=doc_type, topic_scope=scope, now=now)


def reason(body_or_raw, **kwargs) -> str:
    with pytest.raises(PushRejected) as caught:
        verify(body_or_raw, **kwargs)
    return caught.value.reason


def test_a_signed_envelope_verifies_and_yields_its_payload():
    push = verify(envelope(payload={"document": {"名": "金卡"}}))
    assert (push.doc_type, push.version, push.payload) == ("rules", 3, {"document": {"名": "金卡"}})


def test_verification_does_not_depend_on_key_order_or_whitespace_on_the_wire():
    body = envelope()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    assert verify(reordered).version == 3


@pytest.mark.parametrize("scope", [Scope.store("S01"), Scope.device("K001")])
def test_store_and_device_scopes_for_this_kiosk_verify(scope):
    assert verify(envelope(scope=scope), scope=scope).scope == scope


def test_unsigned_envelope_is_rejected():
    body = envelope()
    del body["sig"]
    assert reason(body) == "unsigned"


def test_envelope_signed_with_an_unknown_key_is_rejected():
    assert reason(envelope(key=OTHER_KEY)) == "unknown_key"


def test_envelope_claiming_the_hq_key_id_but_signed_by_another_key_is_rejected():
    body = envelope(key=OTHER_KEY)
    body["key_id"] = key_id(HQ_KEY.public_key())
    assert reason(body) == "bad_signature"


@pytest.mark.parametrize(
    "field, value",
    [
        ("version", 4),
        ("payload", {"document": {"tiers": ["x"]}}),
        ("scope", {"kind": "store", "id": "S01"}),
        ("not_after", "2099-01-01T00:00:00+00:00"),
    ],
)
def test_any_change_after_signing_breaks_the_signature(field, value):
    body = envelope()
    body[field] = value
    assert reason(body, scope=Scope(body["scope"]["kind"], body["scope"].get("id"))) == "bad_signature"


def test_garbage_signature_is_malformed_not_a_crash():
    body = envelope()
    body["sig"] = "***"
    assert reason(body) == "malformed"


def test_truncated_signature_does_not_verify():
    body = envelope()
    body["sig"] = base64.b64encode(b"short").decode()
    assert reason(body) == "bad_signature"


def test_rules_envelope_arriving_on_the_denylist_topic_is_rejected():
    assert reason(envelope(), doc_type="denylist") == "unexpected_type"


def test_fleet_envelope_replayed_on_a_store_topic_is_rejected():
    assert reason(envelope(scope=Scope.fleet()), scope=Scope.store("S01")) == "wrong_scope"


@pytest.mark.parametrize("scope", [Scope.store("S02"), Scope.device("K002")])
def test_envelope_for_another_store_or_device_is_rejected(scope):
    assert reason(envelope(scope=scope), scope=scope) == "wrong_scope"


def test_expired_envelope_is_rejected():
    assert reason(envelope(not_after=NOW - dt.timedelta(seconds=301))) == "expired"


def test_clock_skew_within_tolerance_is_accepted():
    assert verify(envelope(not_after=NOW - dt.timedelta(seconds=299))).version == 3
    assert verify(envelope(issued_at=NOW + dt.timedelta(seconds=299))).version == 3


def test_envelope_from_the_future_is_rejected():
    assert reason(envelope(issued_at=NOW + dt.timedelta(seconds=301))) == "not_yet_valid"


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"v":1}', b'{"v":9,"type":"rules"}', b"\xff" * 10, b'{"v":1,"type":"rules","type":"rules"}'],
)
def test_broken_envelopes_are_malformed(data):
    assert reason(data) == "malformed"


@pytest.mark.parametrize(
    "doc_type, payload",
    [
        ("rules", {"doc": {}}),
        ("members", {"members": [], "acknowledged_event_ids": [1]}),
        ("denylist", {"entries": "all"}),
        ("denylist_delta", {"base_version": -1, "added": [], "removed": []}),
        ("voucher_keys", {"keys": {"kiosk-01": "..."}}),
    ],
)
def test_signed_envelopes_with_a_payload_of_the_wrong_shape_are_malformed(doc_type, payload):
    assert reason(envelope(doc_type=doc_type, payload=payload), doc_type=doc_type) == "malformed"


def test_hq_cannot_sign_floats():
    with pytest.raises(EncodingError):
        envelope(payload={"document": {"discount": 0.9}})


def test_version_must_be_positive():
    body = envelope()
    body["version"] = 0
    assert reason(body) == "malformed"


def test_a_signature_with_non_ascii_text_is_malformed_not_a_crash():
    from sync.errors import PushRejected
    from sync.signing import TrustedKeys

    with pytest.raises(PushRejected) as refused:
        TrustedKeys([]).check(b"ctx", {"key_id": "5540ee3de4e09522", "sig": "\x80"})
    assert refused.value.reason == "malformed"
