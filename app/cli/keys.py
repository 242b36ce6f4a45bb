"""`kiosk keys init`: create the key files config.yaml names, for simulation and first set-up.

On a real device the card master key is provisioned by HQ (the same key on every kiosk of the
fleet, so any kiosk can verify any card) and the HQ public key comes from HQ; `keys init` then
only creates this device's voucher signing key and its public half (`security.voucher_public_key`,
what `kiosk voucher verify` checks this device's vouchers with). For a signing key from before
the public file existed it writes the public half from it, and it says when the public file
belongs to another key. In simulation it creates all of them, plus an HQ signing key pair beside
the public key so `kiosk hq` can sign pushes for the demo. Existing files are never overwritten.
"""

from __future__ import annotations

import argparse

from app.key_files import ensure_keys, publish_voucher_public_key
from kiosk.config import load_config


def _init(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    simulation = args.simulation or config.simulation.enabled
    created = ensure_keys(config, simulation=simulation)
    for path in created:
        print(f"created {path}")
    failed = False
    try:
        published = publish_voucher_public_key(config)
    except (OSError, ValueError, TypeError) as exc:  # unreadable, encrypted or foreign key files
        print(f"voucher public key: {exc}")
        failed = True
    else:
        if published is not None:
            print(f"created {published} (from {config.security.voucher_signing_key})")
    missing = [p for p in (config.security.card_master_key, config.security.hq_public_key) if not p.exists()]
    for path in missing:
        print(f"still missing {path}: install the file HQ provided for this fleet")
    return 1 if missing or failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="create key files")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = keys_sub.add_parser("init", help="create missing key files (never overwrites)")
    init.add_argument(
        "--simulation", action="store_true", help="also create card master and HQ keys (throw-away keys for a demo)"
    )
    init.set_defaults(handler=_init)
