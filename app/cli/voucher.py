"""`kiosk voucher verify CODE` and `kiosk voucher list --member ID`: voucher tools for till staff.

`verify` checks a code's signature and expiry with this device's public key, without the ledger
(so a till or POS integration can shell out to it); it also says whether this kiosk's ledger knows
the voucher as used or cancelled when the ledger is there. `list` prints a member's vouchers.
Exit status: 0 valid / listed, 1 invalid code or unknown member, 2 unusable configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.ledger.configured import load_voucher_key, open_configured
from kiosk.ledger.vouchers import verify_voucher_code
from kiosk.model import VoucherView
from kiosk.store_clock import StoreClock

EXIT_OK = 0
EXIT_FAILED = 1


def verify_code_command(
    code: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: dt.datetime,
    out: TextIO,
    *,
    known: VoucherView | None = None,
    as_json: bool = False,
) -> int:
    """Print the verdict on one code; 0 when valid (and not known as used/cancelled here)."""
    result = verify_voucher_code(code, public_keys, now)
    state = known.state.value if known is not None else None
    ok = result.ok and state not in ("used", "cancelled")
    if as_json:
        parsed = result.voucher
        out.write(
            json.dumps(
                {
                    "status": result.status.value,
                    "reason": result.reason,
                    "ok": ok,
                    "ledger_state": state,
                    "voucher_id": parsed.voucher_id if parsed else None,
                    "value_fen": parsed.value_fen if parsed else None,
                    "reward_id": parsed.reward_id if parsed else None,
                    "expires_at": parsed.expires_at.isoformat() if parsed else None,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        out.write(f"{result.status.value.upper()}: {result.reason}\n")
        if result.voucher is not None:
            v = result.voucher
            out.write(
                f"  voucher {v.voucher_id}  reward {v.reward_id}  value {v.value_fen / 100:.2f} yuan  "
                f"expires {v.expires_at.isoformat()}\n"
            )
        if state in ("used", "cancelled"):
            out.write(f"  this kiosk's ledger records the voucher as {state.upper()}\n")
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
    """The kiosk's ledger, or None where there is none (a till PC verifying codes)."""
    if not cfg.ledger.ledger_file.exists():
        return None
    return open_configured(cfg, StoreClock(cfg.device.tz))


def _verify(args: argparse.Namespace) -> int:
    from kiosk.config import load_config
    from kiosk.ledger.vouchers import MalformedVoucherCode, parse_voucher_code

    cfg = load_config(getattr(args, "config", None))
    key = load_voucher_key(cfg.security.voucher_signing_key)
    known = None
    ledger = _open_ledger(cfg)
    if ledger is not None:
        try:
            known = ledger.voucher(parse_voucher_code(args.code).voucher_id)
        except MalformedVoucherCode:
            pass
        finally:
            ledger.close()
    return verify_code_command(
        args.code,
        {cfg.device.id: key.public_key()},
        dt.datetime.now(cfg.device.tz),
        sys.stdout,
        known=known,
        as_json=args.json,
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
    verify = sub.add_parser("verify", help="check a voucher code's signature and expiry (exit 0 = valid)")
    verify.add_argument("code", help="the full code from the QR (spaces and case are ignored)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(handler=_verify)
    listing = sub.add_parser("list", help="list one member's vouchers")
    listing.add_argument("--member", required=True, help="member id")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=_list)
