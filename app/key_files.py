"""Key files the config names: created when missing, for simulation and first set-up.

`ensure_keys` is shared by `kiosk keys init` and by the composition root (which calls it in
simulation with `generate_keys: true`). Existing files are never overwritten.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cards.keyfile import create_key_file
from kiosk.config import Config
from sync.keys import generate_keypair, load_private_key

_LOG = logging.getLogger(__name__)


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: never a moment when the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


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
        _write_private_key(security.voucher_signing_key, Ed25519PrivateKey.generate())
        created.append(security.voucher_signing_key)
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
