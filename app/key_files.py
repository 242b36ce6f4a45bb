"""Key files the config names: created when missing, for simulation and first set-up.

`ensure_keys` is shared by `kiosk keys init` and by the composition root (which calls it in
simulation with `generate_keys: true`). Existing files are never overwritten.

The voucher public key (`security.voucher_public_key`) is written with every new voucher signing
key, so `kiosk voucher verify` never needs the private one. For a private key made before there
was a public file, `publish_voucher_public_key` (run by `kiosk keys init` only) derives it: the
one place outside the kiosk itself that reads the private key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.cards.keyfile import create_key_file
from kiosk.config import Config
from kiosk.ledger.configured import load_voucher_key
from sync.keys import generate_keypair, load_private_key, load_public_key

_LOG = logging.getLogger(__name__)


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: never a moment when the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _write_public_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never replace a public key someone installed (and never follow a link planted there).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def publish_voucher_public_key(config: Config) -> Path | None:
    """Write the voucher public key from the existing private key if the file is missing.

    Returns the path written, or None when there was nothing to do (no private key yet, or the
    public file exists). Raises ValueError when an existing public file belongs to another key:
    verifying with it would refuse every voucher this device issues.
    """
    security = config.security
    private_path, public_path = security.voucher_signing_key, security.voucher_public_key_file
    if not private_path.exists():
        return None
    key = load_voucher_key(private_path)
    if public_path.exists():
        if _raw(load_public_key(public_path)) != _raw(key.public_key()):
            raise ValueError(
                f"{public_path} is not the public half of {private_path}; move it away and run kiosk keys init again"
            )
        return None
    _write_public_key(public_path, key)
    return public_path


def hq_private_key_path(public_key_path: Path) -> Path:
    """Where simulation keeps HQ's private key: beside the public one (never on a real kiosk)."""
    return public_key_path.with_name(
        public_key_path.name.replace("public", "private") if "public" in public_key_path.name else "hq_private.pem"
    )


def ensure_keys(config: Config, *, simulation: bool) -> list[Path]:
    """Create whichever key files are missing; return the paths created."""
    created: list[Path] = []
    security = config.security
    if not security.voucher_signing_key.exists():
        key = Ed25519PrivateKey.generate()
        _write_private_key(security.voucher_signing_key, key)
        created.append(security.voucher_signing_key)
        # A public file already there is left alone (never overwritten); `kiosk keys init` says
        # when it is not this key's half.
        if not security.voucher_public_key_file.exists():
            _write_public_key(security.voucher_public_key_file, key)
            created.append(security.voucher_public_key_file)
    if simulation:
        if not security.card_master_key.exists():
            security.card_master_key.parent.mkdir(parents=True, exist_ok=True)
            create_key_file(security.card_master_key)
            created.append(security.card_master_key)
        if not security.hq_public_key.exists():
            private_path = hq_private_key_path(security.hq_public_key)
            if private_path.exists():  # keep the pair matching: publish the existing key's half
                security.hq_public_key.write_bytes(
                    load_private_key(private_path)
                    .public_key()
                    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                )
            else:
                generate_keypair(private_path, security.hq_public_key)
                created.append(private_path)
            created.append(security.hq_public_key)
    for path in created:
        _LOG.warning("created key file %s", path)
    return created
