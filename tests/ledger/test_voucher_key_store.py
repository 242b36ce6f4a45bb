"""The key directory HQ pushes, as the kiosk's ledger keeps it: validated before it is stored, only
newer versions replace it, and it survives a restart. A ledger opened without the voucher signing
key (for `kiosk voucher verify`) reads everything but cannot issue a voucher."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import InvalidVoucherKeys, Ledger, NoVoucherKey, OfflineLimits, StaleVersion
from tests.ledger.conftest import T0, TZ, with_member
from tests.ledger.keydir import entry, payload, signed_code

OTHER_KIOSK = Ed25519PrivateKey.generate()
DIRECTORY = payload(entry("kiosk-02", OTHER_KIOSK, store_id="store-2"))


def test_a_directory_is_stored_with_its_version_and_verifies_vouchers(ledger):
    assert ledger.apply_voucher_keys(3, DIRECTORY) == 1
    assert ledger.voucher_keys_version() == 3
    assert ledger.voucher_key_directory().verify(signed_code(OTHER_KIOSK, "kiosk-02"), T0).ok


def test_before_hq_sent_one_there_is_no_directory(ledger):
    assert ledger.voucher_key_directory() is None and ledger.voucher_keys_version() is None


@pytest.mark.parametrize("version", [2, 3])
def test_a_version_not_newer_is_refused_and_the_stored_one_kept(ledger, version):
    ledger.apply_voucher_keys(3, DIRECTORY)
    with pytest.raises(StaleVersion):
        ledger.apply_voucher_keys(version, payload())
    assert ledger.voucher_keys_version() == 3 and len(ledger.voucher_key_directory()) == 1


def test_a_malformed_directory_is_refused_naming_the_entry_and_nothing_is_stored(ledger):
    bad = payload(entry("kiosk-02", OTHER_KIOSK), entry("kiosk-03", OTHER_KIOSK) | {"public_key": "AAAA"})
    with pytest.raises(InvalidVoucherKeys, match=r"keys\[1\]"):
        ledger.apply_voucher_keys(1, bad)
    assert ledger.voucher_key_directory() is None


def test_a_newer_directory_replaces_the_older_one_whole(ledger):
    ledger.apply_voucher_keys(1, DIRECTORY)
    ledger.apply_voucher_keys(2, payload(entry("kiosk-02", OTHER_KIOSK, revoked_at=T0.isoformat())))
    verdict = ledger.voucher_key_directory().verify(signed_code(OTHER_KIOSK, "kiosk-02"), T0)
    assert verdict.status.value == "revoked_key"


def test_the_directory_survives_a_restart(ledger, open_ledger):
    ledger.apply_voucher_keys(4, DIRECTORY)
    ledger.close()
    again = open_ledger()
    assert again.voucher_keys_version() == 4 and len(again.voucher_key_directory()) == 1


def test_a_directory_stored_through_another_connection_is_seen(ledger, open_ledger):
    ledger.apply_voucher_keys(1, DIRECTORY)
    assert len(ledger.voucher_key_directory()) == 1  # parsed and cached here
    open_ledger().apply_voucher_keys(2, payload())  # the HQ link's own connection
    assert len(ledger.voucher_key_directory()) == 0


def _lookup(tmp_path, clock) -> Ledger:
    return Ledger.open(
        tmp_path / "ledger.db",
        device_id="kiosk-01",
        clock=clock,
        tz=TZ,
        voucher_key=None,
        offline_limits=OfflineLimits(5000, 3),
    )


def test_a_ledger_opened_without_the_signing_key_reads_vouchers_and_the_directory(ledger, tmp_path, clock):
    voucher = ledger.redeem("i1", with_member(ledger, points=2000), "off-10", online=True)
    ledger.apply_voucher_keys(1, DIRECTORY)
    lookup = _lookup(tmp_path, clock)
    assert lookup.voucher(voucher.voucher_id).code == voucher.code
    assert lookup.voucher_keys_version() == 1
    lookup.close()


def test_a_ledger_opened_without_the_signing_key_cannot_issue_and_changes_nothing(ledger, tmp_path, clock):
    member_id = with_member(ledger, points=2000)
    lookup = _lookup(tmp_path, clock)
    events = lookup.outbox_depth()
    with pytest.raises(NoVoucherKey):
        lookup.redeem("i1", member_id, "off-10", online=True)
    assert lookup.vouchers(member_id) == () and lookup.outbox_depth() == events
    assert lookup.member_view(member_id).points == 2000
    lookup.close()
