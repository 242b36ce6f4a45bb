"""`kiosk-hq till add` and `kiosk-hq device add-key|revoke-key`: till credentials and the kiosks'
voucher key directory, for an operator at HQ's shell (the same use cases as the operator API).

    kiosk-hq till add --till T1 --store S1              prints the till's token, once
    kiosk-hq till disable --till T1                     its token is refused from now on
    kiosk-hq device add-key kiosk-01 --store S1 --public-key-file voucher_public.pem
    kiosk-hq device revoke-key kiosk-01 --reason "kiosk stolen"

A running HQ publishes the re-signed directory to the fleet within `publish_interval_s`.
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hq.config import HqSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    till = sub.add_parser("till", help="till credentials").add_subparsers(dest="till_command", required=True)
    add = till.add_parser("add", help="give a till its own token (printed once)")
    add.add_argument("--till", required=True)
    add.add_argument("--store", required=True)
    disable = till.add_parser("disable", help="refuse a till's token from now on (lost or replaced till PC)")
    disable.add_argument("--till", required=True)
    device = sub.add_parser("device", help="kiosks' voucher keys").add_subparsers(dest="device_command", required=True)
    key = device.add_parser("add-key", help="register a kiosk's voucher public key for its store")
    key.add_argument("device")
    key.add_argument("--store", required=True)
    which = key.add_mutually_exclusive_group(required=True)
    which.add_argument("--public-key-file", type=Path, help="the kiosk's voucher public key (PEM)")
    which.add_argument("--public-key", help="base64 of the raw 32-byte key")
    revoke = device.add_parser("revoke-key", help="revoke a kiosk's voucher keys: its vouchers are refused")
    revoke.add_argument("device")
    revoke.add_argument("--reason", required=True)


def public_key_b64(path: Path) -> str:
    """base64 of the raw key in a PEM public key file (ValueError when it is not an Ed25519 key)."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def run(settings: HqSettings, args: argparse.Namespace) -> int:
    from hq.api.auth import new_till_token, token_digest
    from hq.runtime import ZoneClock
    from hq.service import voucher_keys, vouchers
    from hq.service.errors import HqServiceError
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate
    from sync.errors import SyncError
    from sync.keys import load_private_key
    from sync.topics import HqTopics

    engine = open_engine(settings.database)
    migrate(engine)
    now = ZoneClock(settings.tz).now()
    try:
        if args.command == "till" and args.till_command == "disable":
            with engine.begin() as conn:
                vouchers.disable_till(conn, args.till, now)
            print(f"till {args.till}: its token is refused from now on; `till add` gives the id a new one")
            return EXIT_OK
        if args.command == "till":
            token = new_till_token()
            with engine.begin() as conn:
                vouchers.add_till(conn, args.till, args.store, token_digest(token), now)
            print(token)
            print(f"till {args.till} of store {args.store}: keep this token on the till; HQ cannot show it again",
                  file=sys.stderr)  # fmt: skip
            return EXIT_OK
        key = load_private_key(settings.signing_key)
        topics = HqTopics(settings.mqtt.topic_prefix, settings.mqtt.share_group)
        with engine.begin() as conn:
            if args.device_command == "add-key":
                b64 = args.public_key or public_key_b64(args.public_key_file)
                voucher_keys.add_key(conn, args.device, args.store, b64, valid_from=now, now=now)
            else:
                voucher_keys.revoke(conn, args.device, args.reason, public_key_b64=None, now=now)
            version = voucher_keys.queue_directory(conn, key, topics, now)
        print(f"voucher key directory version {version} queued for the fleet")
        return EXIT_OK
    except (OSError, ValueError, SyncError) as exc:
        print(f"kiosk-hq: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HqServiceError as exc:
        print(f"kiosk-hq: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
