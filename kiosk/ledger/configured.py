"""Opening the ledger a config.yaml describes: one place for the file, the key and the limits.

`open_configured` is the kiosk's (it issues vouchers, so it loads the private key);
`open_for_lookup` is for tools that only read vouchers and the key directory, and never touches
the private key (`kiosk voucher verify` must work where that key is absent or unreadable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger.ledger import Ledger
from kiosk.ledger.redemption import OfflineLimits


def load_voucher_key(path: Path) -> Ed25519PrivateKey:
    """This device's voucher signing key (PEM, `security.voucher_signing_key`)."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def open_configured(config: Any, clock: Any) -> Ledger:
    """Open `config.ledger.ledger_file` with the device id, timezone, voucher key and offline limits."""
    return _open(config, clock, load_voucher_key(config.security.voucher_signing_key))


def open_for_lookup(config: Any, clock: Any) -> Ledger:
    """The same ledger without the voucher signing key: it reads everything but cannot issue a voucher."""
    return _open(config, clock, None)


def _open(config: Any, clock: Any, voucher_key: Ed25519PrivateKey | None) -> Ledger:
    return Ledger.open(
        config.ledger.ledger_file,
        device_id=config.device.id,
        clock=clock,
        tz=config.device.tz,
        voucher_key=voucher_key,
        offline_limits=OfflineLimits(
            points_per_day=config.ledger.offline_max_points_per_day,
            redemptions_per_day=config.ledger.offline_max_redemptions_per_day,
        ),
    )
