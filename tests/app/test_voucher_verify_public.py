"""`kiosk voucher verify` with public material only: this device's public key, the key directory HQ
pushed to the kiosk, and a signed directory file from HQ (`--keys`). No private key is ever read:
the config's signing key may be missing, unreadable or garbage, and verification still works."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cli.main import main
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import seed_demo
from sync.envelope import sign_envelope
from sync.schemas import dumps
from sync.topics import Scope
from tests.ledger.keydir import edited, entry, payload, signed_code

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime.now(TZ)
THIS_KIOSK = Ed25519PrivateKey.generate()  # kiosk-01: its private key never reaches a file here
OTHER_KIOSK = Ed25519PrivateKey.generate()  # kiosk-02, in store-2
HQ = Ed25519PrivateKey.generate()
ISSUED = NOW - dt.timedelta(hours=1)
PEM = serialization.Encoding.PEM


class Kiosk:
    """A config with public material only, and helpers to add the rest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        keys = root / "keys"
        keys.mkdir()
        (keys / "hq_public.pem").write_bytes(
            HQ.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        (keys / "card.key").write_text("not needed to verify vouchers")
        # The default place of the public key: beside the (absent) private one.
        (keys / "voucher_signing.pub.pem").write_bytes(
            THIS_KIOSK.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        self.private_key = keys / "voucher_signing.pem"
        self.config = root / "config.yaml"
        self.config.write_text(
            "device:\n  id: kiosk-01\n  store_id: store-1\n  display_name: Test\n  timezone: Asia/Shanghai\n"
            f"ledger:\n  data_dir: {root / 'data'}\n"
            "security:\n  hq_public_key: keys/hq_public.pem\n  card_master_key: keys/card.key\n"
            "  voucher_signing_key: keys/voucher_signing.pem\n"
        )

    def with_ledger(self, *directory: dict) -> str:
        """A ledger as the kiosk keeps it, with HQ's directory (if any); returns a voucher it issued."""
        ledger = Ledger.open(
            self.root / "data" / "ledger.db",
            device_id="kiosk-01",
            clock=_Clock(),
            tz=dt.UTC,
            voucher_key=THIS_KIOSK,  # in memory only: the kiosk process, not verify
            offline_limits=OfflineLimits(5000, 3),
        )
        seed_demo(ledger, NOW)
        if directory:
            ledger.apply_voucher_keys(1, payload(*directory))
        code = ledger.redeem("i1", "M0003", "off-10", online=True).code
        ledger.close()
        return code

    def keys_file(self, *entries: dict, signer: Ed25519PrivateKey = HQ, edit=None) -> Path:
        """What HQ's GET /v1/voucher-keys returns, saved by a till."""
        envelope = sign_envelope(
            signer,
            doc_type="voucher_keys",
            scope=Scope.fleet(),
            version=7,
            issued_at=NOW - dt.timedelta(minutes=5),
            not_after=NOW + dt.timedelta(days=30),
            payload=payload(*entries),
        )
        if edit:
            edit(envelope)
        path = self.root / "voucher-keys.json"
        path.write_bytes(dumps(envelope))
        return path

    def verify(self, code: str, *options: str) -> int:
        return main(["--config", str(self.config), "voucher", "verify", code, *options])


class _Clock:
    def now(self) -> dt.datetime:
        return NOW


@pytest.fixture
def device(tmp_path) -> Kiosk:
    return Kiosk(tmp_path)


def other_kiosks(**kw) -> dict:
    return entry("kiosk-02", OTHER_KIOSK, store_id="store-2", valid_from="2020-01-01T00:00:00+00:00", **kw)


def test_this_kiosks_voucher_verifies_with_its_public_key_alone(device, capsys):
    assert not device.private_key.exists()
    assert device.verify(signed_code(THIS_KIOSK, issued=ISSUED)) == 0
    assert capsys.readouterr().out.startswith("VALID")


def test_another_kiosks_voucher_verifies_through_the_directory_hq_pushed(device, capsys):
    own = device.with_ledger(other_kiosks())
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED)) == 0
    assert device.verify(own) == 0  # and this kiosk's own, beside it
    assert capsys.readouterr().out.count("VALID") == 2


def test_another_kiosks_voucher_verifies_through_a_keys_file_from_hq(device, capsys):
    keys = device.keys_file(other_kiosks())
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys), "--json") == 0
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["status"], verdict["store_id"]) == ("valid", "store-2")


def test_an_unreadable_garbage_private_key_is_never_touched(device):
    device.private_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    device.private_key.chmod(0)
    own = device.with_ledger(other_kiosks())
    keys = device.keys_file(other_kiosks())
    assert device.verify(own) == 0
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys)) == 0


def test_verify_loads_no_private_key_at_all(device, monkeypatch):
    own = device.with_ledger(other_kiosks())
    keys = device.keys_file(other_kiosks())

    def refuse(*args, **kwargs):
        raise AssertionError("kiosk voucher verify loaded a private key")

    import cryptography.hazmat.primitives.serialization as serialization_module

    import kiosk.ledger.configured
    import sync.keys

    monkeypatch.setattr(kiosk.ledger.configured, "load_voucher_key", refuse)
    monkeypatch.setattr(sync.keys, "load_private_key", refuse)
    monkeypatch.setattr(serialization_module, "load_pem_private_key", refuse)
    monkeypatch.setattr(Ed25519PrivateKey, "from_private_bytes", refuse)
    assert device.verify(own) == 0
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys)) == 0


@pytest.mark.parametrize(
    "code, status",
    [
        (lambda: signed_code(Ed25519PrivateKey.generate(), "kiosk-09", issued=ISSUED), "UNKNOWN_DEVICE"),
        (lambda: signed_code(Ed25519PrivateKey.generate(), "kiosk-02", issued=ISSUED), "BAD_SIGNATURE"),
        (lambda: edited(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED)), "BAD_SIGNATURE"),
        (lambda: edited(signed_code(THIS_KIOSK, issued=ISSUED)), "BAD_SIGNATURE"),
    ],
    ids=["unknown device", "unknown key of a known device", "edited code of another kiosk", "edited own code"],
)
def test_a_voucher_no_known_key_signed_as_it_is_refused(device, capsys, code, status):
    device.with_ledger(other_kiosks())
    assert device.verify(code()) == 1
    assert capsys.readouterr().out.startswith(status)


def test_a_voucher_of_a_revoked_key_is_refused(device, capsys):
    keys = device.keys_file(other_kiosks(revoked_at=NOW.isoformat(), reason="kiosk stolen"))
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys)) == 1
    assert capsys.readouterr().out.startswith("REVOKED_KEY")


def test_hqs_revocation_of_this_kiosks_key_beats_the_key_file_beside_it(device, capsys):
    own = device.with_ledger(entry("kiosk-01", THIS_KIOSK, revoked_at=NOW.isoformat(), reason="stolen"))
    assert device.verify(own) == 1
    assert capsys.readouterr().out.startswith("REVOKED_KEY")


def test_the_newer_directory_of_ledger_and_file_wins(device, capsys):
    device.with_ledger(other_kiosks())  # version 1
    revoked = device.keys_file(other_kiosks(revoked_at=NOW.isoformat()))  # version 7
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(revoked)) == 1


def test_with_a_store_another_stores_voucher_is_refused(device, capsys):
    device.with_ledger(other_kiosks())
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--store", "store-1") == 1
    assert capsys.readouterr().out.startswith("OTHER_STORE")
    assert device.verify(signed_code(THIS_KIOSK, issued=ISSUED), "--store", "store-1") == 0


def test_a_keys_file_hq_did_not_sign_is_a_clear_error(device, capsys):
    keys = device.keys_file(other_kiosks(), signer=Ed25519PrivateKey.generate())
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys)) == 2
    assert "not a voucher key directory signed by HQ (unknown_key)" in capsys.readouterr().err


def test_a_keys_file_edited_after_hq_signed_it_is_a_clear_error(device, capsys):
    def add_a_key(envelope):
        envelope["payload"]["keys"].append(entry("kiosk-66", Ed25519PrivateKey.generate()))

    keys = device.keys_file(other_kiosks(), edit=add_a_key)
    assert device.verify(signed_code(OTHER_KIOSK, "kiosk-02", issued=ISSUED), "--keys", str(keys)) == 2
    assert "(bad_signature)" in capsys.readouterr().err


def test_a_keys_file_that_is_not_there_is_a_clear_error(device, capsys):
    assert device.verify(signed_code(THIS_KIOSK, issued=ISSUED), "--keys", str(device.root / "nope.json")) == 2
    assert "cannot read it" in capsys.readouterr().err


def test_without_any_public_key_verify_says_what_is_missing(device, capsys):
    (device.root / "keys" / "voucher_signing.pub.pem").unlink()
    assert device.verify(signed_code(THIS_KIOSK, issued=ISSUED)) == 2
    assert "kiosk keys init" in capsys.readouterr().err
