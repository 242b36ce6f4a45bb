"""The voucher key directory: the one verification every verifier uses (kiosk, HQ, till, CLI).
A voucher is valid only if a listed, unrevoked key of its device signed it while the key was
valid, it has not expired, and (when asked) its kiosk is in the given store."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import VerifyStatus, voucher_keys
from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from tests.ledger.conftest import DAY, T0
from tests.ledger.keydir import edited, entry, payload, signed_code

KEY = Ed25519PrivateKey.generate()
NEXT_KEY = Ed25519PrivateKey.generate()


def directory(*entries) -> VoucherKeyDirectory:
    return VoucherKeyDirectory.from_payload(payload(*entries))


def status(directory: VoucherKeyDirectory, code: str, **kw) -> VerifyStatus:
    return directory.verify(code, kw.pop("now", T0), **kw).status


def test_a_voucher_signed_by_a_listed_key_is_valid_and_names_its_store():
    verdict = directory(entry("kiosk-01", KEY, store_id="store-7")).verify(signed_code(KEY), T0)
    assert verdict.ok and verdict.store_id == "store-7" and verdict.voucher.voucher_id == "kiosk-01-7"


def test_a_voucher_of_a_device_not_listed_is_unknown():
    assert status(directory(entry("kiosk-02", KEY)), signed_code(KEY)) is VerifyStatus.UNKNOWN_DEVICE


def test_a_voucher_signed_by_another_key_than_its_devices_is_refused():
    assert status(directory(entry("kiosk-01", KEY)), signed_code(NEXT_KEY)) is VerifyStatus.BAD_SIGNATURE


def test_a_voucher_edited_after_signing_is_refused():
    assert status(directory(entry("kiosk-01", KEY)), edited(signed_code(KEY))) is VerifyStatus.BAD_SIGNATURE


def test_garbage_is_malformed():
    assert status(directory(entry("kiosk-01", KEY)), "not a voucher") is VerifyStatus.MALFORMED


def test_every_voucher_of_a_revoked_key_is_refused_whatever_date_it_claims():
    # A thief can write any issue date, so one before the revocation proves nothing.
    revoked = entry("kiosk-01", KEY, revoked_at=(T0 + DAY).isoformat(), reason="stolen")
    verdict = directory(revoked).verify(signed_code(KEY, issued=T0 - DAY), T0)
    assert verdict.status is VerifyStatus.REVOKED_KEY and "stolen" in verdict.reason


def test_a_key_listed_twice_stays_revoked_if_either_entry_revokes_it():
    listed = [entry("kiosk-01", KEY), entry("kiosk-01", KEY, revoked_at=T0.isoformat())]
    assert status(directory(*listed), signed_code(KEY)) is VerifyStatus.REVOKED_KEY
    assert status(directory(*reversed(listed)), signed_code(KEY)) is VerifyStatus.REVOKED_KEY


def test_a_voucher_issued_outside_its_keys_validity_is_refused():
    rotated = entry("kiosk-01", KEY, valid_until=(T0 - DAY).isoformat())
    assert status(directory(rotated), signed_code(KEY)) is VerifyStatus.KEY_NOT_VALID_THEN


def test_after_a_rotation_both_keys_verify_their_own_vouchers():
    old = entry("kiosk-01", KEY, valid_until=T0.isoformat())
    new = entry("kiosk-01", NEXT_KEY, valid_from=T0.isoformat())
    both = directory(old, new)
    assert status(both, signed_code(KEY, issued=T0 - DAY)) is VerifyStatus.VALID
    assert status(both, signed_code(NEXT_KEY, issued=T0 + DAY), now=T0 + DAY) is VerifyStatus.VALID


def test_an_expired_voucher_is_refused_from_its_deadline():
    code = signed_code(KEY, expires=T0 + DAY)
    keys = directory(entry("kiosk-01", KEY))
    assert status(keys, code, now=T0 + DAY) is VerifyStatus.EXPIRED


def test_a_till_of_one_store_refuses_another_stores_voucher():
    keys = directory(entry("kiosk-01", KEY, store_id="store-1"))
    assert status(keys, signed_code(KEY), store_id="store-2") is VerifyStatus.OTHER_STORE
    assert status(keys, signed_code(KEY), store_id="store-1") is VerifyStatus.VALID


def test_without_a_store_every_stores_voucher_is_accepted():
    assert status(directory(entry("kiosk-01", KEY, store_id="store-9")), signed_code(KEY)) is VerifyStatus.VALID


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"public_key": "not base64!"}, "public_key"),
        ({"public_key": "AAAA"}, "32 bytes"),
        ({"valid_from": "2026-01-01T00:00:00"}, "UTC offset"),
        ({"store_id": ""}, "store_id"),
        ({"revoked_at": "soon"}, "revoked_at"),
    ],
)
def test_a_malformed_entry_is_refused_naming_it(bad, where):
    with pytest.raises(ValueError, match=rf"keys\[1\]: .*{where}"):
        directory(entry("kiosk-01", KEY), entry("kiosk-02", NEXT_KEY) | bad)


@pytest.mark.parametrize("document", [{}, {"keys": "all"}, [], None])
def test_a_document_without_a_keys_list_is_refused(document):
    with pytest.raises(ValueError, match="keys"):
        VoucherKeyDirectory.from_payload(document)


def test_a_directory_beyond_the_key_limit_is_refused(monkeypatch):
    monkeypatch.setattr(voucher_keys, "MAX_KEYS", 1)
    with pytest.raises(ValueError, match="more than 1"):
        directory(entry("kiosk-01", KEY), entry("kiosk-02", NEXT_KEY))


def test_a_directory_survives_its_own_payload():
    keys = directory(entry("kiosk-01", KEY, revoked_at=T0.isoformat(), reason="stolen"), entry("kiosk-02", NEXT_KEY))
    again = VoucherKeyDirectory.from_payload(keys.as_payload())
    assert again.as_payload() == keys.as_payload() and len(again) == 2
