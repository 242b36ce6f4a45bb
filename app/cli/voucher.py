"""`kiosk voucher verify CODE` and `kiosk voucher list --member ID`: voucher tools for till staff.

`verify` checks a code with public material only, never a private key, so a till PC or a POS
integration can shell out to it and a stolen one cannot make vouchers (app/public_voucher_keys.py):
this device's public key, the key directory HQ pushed to this kiosk, and `--keys FILE`, a signed
directory from HQ's `GET /v1/voucher-keys`. The verdict is `VoucherKeyDirectory.verify`'s (the one
every verifier uses); `--store STORE` refuses other stores' vouchers. Where this kiosk's ledger is,
it also says whether the ledger knows the voucher as used or cancelled (and where and when).
`list` prints a member's vouchers.
Exit status: 0 valid / listed, 1 invalid code or unknown member, 2 unusable configuration or keys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TextIO

from app.public_voucher_keys import (
    SignedDirectory,
    VoucherKeysUnusable,
    combined_directory,
    own_key_entry,
    read_signed_directory,
)
from kiosk.ledger.configured import open_for_lookup
from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from kiosk.model import VoucherView
from kiosk.store_clock import StoreClock

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def _ledger_note(known: VoucherView) -> str:
    note = f"  this kiosk's ledger records the voucher as {known.state.value.upper()}"
    if known.state_at is not None:
        note += f" at {known.state_at:%Y-%m-%d %H:%M %z}"
    if known.state_store:
        note += f" in store {known.state_store}"
    if known.state_till:
        note += f", till {known.state_till}"
    return note + "\n"


def verify_code_command(
    code: str,
    directory: VoucherKeyDirectory,
    now: dt.datetime,
    out: TextIO,
    *,
    store_id: str | None = None,
    known: VoucherView | None = None,
    as_json: bool = False,
) -> int:
    """Print the verdict on one code; 0 when valid (and not known as used/cancelled here).

    `store_id`: accept only vouchers issued in that store (None: any store).
    """
    verdict = directory.verify(code, now, store_id=store_id)
    # A reversed voucher is usable again (the till voided the sale); used, cancelled, expired are not.
    refused_here = known is not None and not known.state.usable
    ok = verdict.ok and not refused_here
    if as_json:
        parsed = verdict.voucher
        out.write(
            json.dumps(
                {
                    "status": verdict.status.value,
                    "reason": verdict.reason,
                    "ok": ok,
                    "ledger_state": known.state.value if known is not None else None,
                    "ledger_state_at": known.state_at.isoformat() if known and known.state_at else None,
                    "ledger_state_store": known.state_store if known else None,
                    "ledger_state_till": known.state_till if known else None,
                    "voucher_id": parsed.voucher_id if parsed else None,
                    "device_id": parsed.device_id if parsed else None,
                    "store_id": verdict.store_id,
                    "value_fen": parsed.value_fen if parsed else None,
                    "reward_id": parsed.reward_id if parsed else None,
                    "expires_at": parsed.expires_at.isoformat() if parsed else None,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        out.write(f"{verdict.status.value.upper()}: {verdict.reason}\n")
        if verdict.voucher is not None:
            v = verdict.voucher
            store = f"  store {verdict.store_id}" if verdict.store_id else ""
            out.write(
                f"  voucher {v.voucher_id}  reward {v.reward_id}  value {v.value_fen / 100:.2f} yuan  "
                f"expires {v.expires_at.isoformat()}{store}\n"
            )
        if refused_here:
            assert known is not None
            out.write(_ledger_note(known))
    return EXIT_OK if ok else EXIT_FAILED


def list_vouchers_command(vouchers: tuple[VoucherView, ...], out: TextIO, *, as_json: bool = False) -> int:
    if as_json:
        out.write(
            json.dumps(
                [
                    {
                        "voucher_id": v.voucher_id,
                        "short_code": v.short_code,
                        "state": v.state.value,
                        "state_at": v.state_at.isoformat() if v.state_at else None,
                        "state_store": v.state_store,
                        "state_till": v.state_till,
                        "value_fen": v.value_fen,
                        "issued_at": v.issued_at.isoformat(),
                        "expires_at": v.expires_at.isoformat(),
                        "offline": v.offline,
                        "reward_name": dict(v.reward_name),
                        "code": v.code,
                    }
                    for v in vouchers
                ],
                ensure_ascii=False,
            )
            + "\n"
        )
        return EXIT_OK
    if not vouchers:
        out.write("no vouchers\n")
    for v in vouchers:
        out.write(
            f"{v.short_code}  {v.state.value:<9}  {v.value_fen / 100:>8.2f}  "
            f"{v.issued_at:%Y-%m-%d %H:%M} -> {v.expires_at:%Y-%m-%d}  "
            f"{'offline ' if v.offline else ''}{v.reward_name.get('zh_CN', '')} / {v.reward_name.get('en', '')}"
            f"  [{v.voucher_id}]\n"
        )
    return EXIT_OK


def _open_ledger(cfg):
    """The kiosk's ledger (opened without the signing key), or None where there is none (a till PC)."""
    if not cfg.ledger.ledger_file.exists():
        return None
    return open_for_lookup(cfg, StoreClock(cfg.device.tz))


def _verify(args: argparse.Namespace) -> int:
    from kiosk.config import load_config
    from kiosk.ledger.vouchers import MalformedVoucherCode, parse_voucher_code

    cfg = load_config(getattr(args, "config", None))
    now = dt.datetime.now(cfg.device.tz)
    known = None
    signed: list[SignedDirectory] = []
    try:
        own = own_key_entry(cfg)
        if args.keys is not None:
            signed.append(read_signed_directory(args.keys, cfg, now))
    except VoucherKeysUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    ledger = _open_ledger(cfg)
    if ledger is not None:
        try:
            stored = ledger.voucher_key_directory()
            if stored is not None:
                signed.append(SignedDirectory(ledger.voucher_keys_version() or 0, stored, "ledger"))
            try:
                known = ledger.voucher(parse_voucher_code(args.code).voucher_id)
            except MalformedVoucherCode:
                pass
        finally:
            ledger.close()
    directory, used = combined_directory(own, signed)
    if not len(directory):
        print(
            f"error: no public voucher keys: {cfg.security.voucher_public_key_file} is missing (kiosk keys init "
            "writes it), this kiosk has no key directory from HQ and no --keys FILE was given",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    if own is None and directory.store_of(cfg.device.id) is None:
        print(
            f"note: {cfg.security.voucher_public_key_file} is missing (kiosk keys init writes it): "
            f"vouchers of {cfg.device.id} cannot be verified here",
            file=sys.stderr,
        )
    if used is not None and not args.json:
        print(f"key directory version {used.version} ({used.source})", file=sys.stderr)
    return verify_code_command(
        args.code, directory, now, sys.stdout, store_id=args.store, known=known, as_json=args.json
    )


def _list(args: argparse.Namespace) -> int:
    from kiosk.config import load_config

    cfg = load_config(getattr(args, "config", None))
    ledger = _open_ledger(cfg)
    if ledger is None:
        print(f"no ledger at {cfg.ledger.ledger_file}", file=sys.stderr)
        return EXIT_FAILED
    try:
        if not ledger.member_exists(args.member):
            print(f"unknown member {args.member}", file=sys.stderr)
            return EXIT_FAILED
        return list_vouchers_command(ledger.vouchers(args.member), sys.stdout, as_json=args.json)
    finally:
        ledger.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    voucher = subparsers.add_parser("voucher", help="verify voucher codes, list a member's vouchers")
    sub = voucher.add_subparsers(dest="voucher_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="check a voucher code's signature, key and expiry with public keys only (exit 0 = valid)"
    )
    verify.add_argument("code", help="the full code from the QR (spaces and case are ignored)")
    verify.add_argument(
        "--keys",
        type=Path,
        metavar="FILE",
        help="HQ's signed voucher key directory (GET /v1/voucher-keys), checked with security.hq_public_key",
    )
    verify.add_argument("--store", metavar="STORE", help="refuse vouchers issued in other stores (default: any store)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(handler=_verify)
    listing = sub.add_parser("list", help="list one member's vouchers")
    listing.add_argument("--member", required=True, help="member id")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=_list)
