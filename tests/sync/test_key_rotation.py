"""HQ key rotation with overlap: a public-key file with several keys, every one of them trusted."""

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import EnvelopeVerifier, sign_envelope
from sync.errors import PushRejected
from sync.keys import SigningKeyError, load_public_keys
from sync.topics import Scope

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
OLD, NEW, STRANGER = (Ed25519PrivateKey.generate() for _ in range(3))


def pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verifier_for(path) -> EnvelopeVerifier:
    return EnvelopeVerifier(load_public_keys([path]), device_id="K001", store_id="S01", skew_s=300)


def signed_by(key: Ed25519PrivateKey) -> bytes:
    body = sign_envelope(
        key,
        doc_type="rules",
        scope=Scope.fleet(),
        version=7,
        issued_at=NOW - dt.timedelta(minutes=1),
        not_after=NOW + dt.timedelta(days=1),
        payload={"document": {"tiers": []}},
    )
    return json.dumps(body).encode()


@pytest.mark.parametrize("signer", [OLD, NEW], ids=["old key", "new key"])
def test_documents_signed_by_either_key_of_a_two_key_file_verify(tmp_path, signer):
    path = tmp_path / "hq_public.pem"
    path.write_bytes(pem(OLD) + b"\n" + pem(NEW))
    push = verifier_for(path).verify(signed_by(signer), expected_type="rules", topic_scope=Scope.fleet(), now=NOW)
    assert push.version == 7


def test_a_key_outside_the_file_is_still_refused(tmp_path):
    path = tmp_path / "hq_public.pem"
    path.write_bytes(pem(OLD) + pem(NEW))
    with pytest.raises(PushRejected) as caught:
        verifier_for(path).verify(signed_by(STRANGER), expected_type="rules", topic_scope=Scope.fleet(), now=NOW)
    assert caught.value.reason == "unknown_key"


def test_a_file_without_keys_is_an_error_that_names_it(tmp_path):
    path = tmp_path / "hq_public.pem"
    path.write_text("nothing here\n")
    with pytest.raises(SigningKeyError, match="no PEM public key"):
        load_public_keys([path])


def test_a_broken_second_key_is_an_error_that_says_which(tmp_path):
    path = tmp_path / "hq_public.pem"
    path.write_bytes(pem(OLD) + b"-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SigningKeyError, match="key 2"):
        load_public_keys([path])
