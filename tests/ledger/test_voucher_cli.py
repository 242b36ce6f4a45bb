"""`kiosk voucher verify` / `kiosk voucher list`: the handlers' printing and exit codes, and the CLI end to end.

Verification with public material only (no private key anywhere) is specified in
tests/app/test_voucher_verify_public.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from cryptography.hazmat.primitives import serialization

from app.cli.voucher import list_vouchers_command, verify_code_command
from kiosk.ledger.demo import seed_demo
from kiosk.ledger.voucher_keys import DirectoryEntry, VoucherKeyDirectory
from tests.ledger.conftest import DAY, T0, with_member

SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def keys_of(ledger, store_id: str = "store-1") -> VoucherKeyDirectory:
    """A directory holding this ledger's own public voucher key."""
    return VoucherKeyDirectory([DirectoryEntry("kiosk-01", store_id, ledger.voucher_public_key, SINCE)])


def test_verify_prints_valid_and_exits_zero(ledger):
    voucher = ledger.redeem("i1", with_member(ledger, points=2000), "off-10", online=True)
    out = io.StringIO()
    assert verify_code_command(voucher.code, keys_of(ledger), T0, out) == 0
    assert out.getvalue().startswith("VALID") and voucher.voucher_id in out.getvalue()


def test_verify_names_the_store_whose_kiosk_issued_the_voucher(ledger):
    voucher = ledger.redeem("i1", with_member(ledger, points=2000), "off-10", online=True)
    out = io.StringIO()
    verify_code_command(voucher.code, keys_of(ledger, "store-7"), T0, out, as_json=True)
    assert json.loads(out.getvalue())["store_id"] == "store-7"


def test_verify_rejects_garbage_with_exit_one():
    out = io.StringIO()
    assert verify_code_command("not a code", VoucherKeyDirectory([]), T0, out) == 1
    assert out.getvalue().startswith("MALFORMED")


def test_verify_reports_expired_in_json(ledger):
    voucher = ledger.redeem("i1", with_member(ledger, points=2000), "off-10", online=True)
    out = io.StringIO()
    assert verify_code_command(voucher.code, keys_of(ledger), T0 + 31 * DAY, out, as_json=True) == 1
    assert json.loads(out.getvalue())["status"] == "expired"


def test_verify_with_a_store_refuses_another_stores_voucher(ledger):
    voucher = ledger.redeem("i1", with_member(ledger, points=2000), "off-10", online=True)
    out = io.StringIO()
    assert verify_code_command(voucher.code, keys_of(ledger, "store-1"), T0, out, store_id="store-2") == 1
    assert out.getvalue().startswith("OTHER_STORE")


def _hq_says(ledger, member_id: str, voucher_id: str, state: str) -> None:
    entry = {"voucher_id": voucher_id, "state": state, "at": "2026-03-01T14:05:00+08:00", "store_id": "store-1"}
    version = (ledger.member_snapshot_version() or 0) + 1
    ledger.apply_member_snapshot(version, [{"member_id": member_id, "name": "张三明", "vouchers": [entry]}])


def test_verify_refuses_a_voucher_the_ledger_knows_as_used(ledger):
    member_id = with_member(ledger, points=2000)
    voucher = ledger.redeem("i1", member_id, "off-10", online=True)
    _hq_says(ledger, member_id, voucher.voucher_id, "used")
    out = io.StringIO()
    known = ledger.voucher(voucher.voucher_id)
    assert verify_code_command(voucher.code, keys_of(ledger), T0, out, known=known) == 1
    assert "USED at 2026-03-01 14:05 +0800 in store store-1" in out.getvalue()


def test_verify_accepts_a_voucher_the_till_returned(ledger):
    member_id = with_member(ledger, points=2000)
    voucher = ledger.redeem("i1", member_id, "off-10", online=True)
    _hq_says(ledger, member_id, voucher.voucher_id, "reversed")
    out = io.StringIO()
    known = ledger.voucher(voucher.voucher_id)
    assert verify_code_command(voucher.code, keys_of(ledger), T0, out, known=known) == 0


def test_list_prints_each_voucher(ledger):
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "off-5", online=False)
    out = io.StringIO()
    assert list_vouchers_command(ledger.vouchers(member_id), out) == 0
    assert "issued" in out.getvalue() and "offline" in out.getvalue() and "5元代金券" in out.getvalue()


def test_cli_end_to_end_with_a_config(tmp_path, capsys):
    import argparse

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.cli import voucher as voucher_cli

    def main(argv):  # only the voucher commands, wired as app.cli.main wires them
        parser = argparse.ArgumentParser(prog="kiosk")
        parser.add_argument("--config")
        voucher_cli.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        return args.handler(args)

    from kiosk.ledger import Ledger, OfflineLimits
    from tests.ledger.conftest import TZ, SettableClock

    key = Ed25519PrivateKey.generate()
    key_path = tmp_path / "voucher.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    # What `kiosk keys init` writes beside the private key, and all that verify reads.
    (tmp_path / "voucher.pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for name in ("hq.pub", "card.key"):
        (tmp_path / name).write_text("placeholder")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"device:\n  id: kiosk-cli\n  store_id: s1\n  display_name: Test\n  timezone: Asia/Shanghai\n"
        f"ledger:\n  data_dir: {tmp_path / 'data'}\n"
        f"security:\n  hq_public_key: {tmp_path / 'hq.pub'}\n  card_master_key: {tmp_path / 'card.key'}\n"
        f"  voucher_signing_key: {key_path}\n"
    )
    import datetime as dt

    ledger = Ledger.open(
        tmp_path / "data" / "ledger.db",
        device_id="kiosk-cli",
        clock=SettableClock(dt.datetime.now(TZ)),
        tz=TZ,
        voucher_key=key,
        offline_limits=OfflineLimits(5000, 3),
    )
    seed_demo(ledger, dt.datetime.now(TZ))
    voucher = ledger.redeem("i1", "M0003", "off-10", online=True)
    ledger.close()
    assert main(["--config", str(config), "voucher", "verify", voucher.code]) == 0
    assert capsys.readouterr().out.startswith("VALID")
    assert main(["--config", str(config), "voucher", "list", "--member", "M0003"]) == 0
    assert voucher.short_code in capsys.readouterr().out
    assert main(["--config", str(config), "voucher", "list", "--member", "nobody"]) == 1
