"""Ed25519 key files for signed HQ pushes: HQ keeps the private key, kiosks get the public ones."""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.errors import SyncError


class SigningKeyError(SyncError, ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def generate_keypair(private_path: Path, public_path: Path, *, overwrite: bool = False) -> Ed25519PrivateKey:
    """Write a new private key (mode 0600) and its public key as PEM files."""
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise SigningKeyError(f"{private_path} or {public_path} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: cannot load private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{path}: cannot load public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 public key")
    return key


_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def load_public_key_file(path: Path) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM file, in file order.

    HQ rotates its signing key with an overlap: for a while the file holds the current key and the
    next (or the previous) one, and a document signed by any of them verifies (docs/mqtt.md).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot load public key: {exc.strerror or exc}") from None
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise SigningKeyError(f"{path}: no PEM public key in the file")
    keys = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = serialization.load_pem_public_key(block)
        except ValueError as exc:
            raise SigningKeyError(f"{path}: key {number} cannot be loaded: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{path}: key {number} is not an Ed25519 public key")
        keys.append(key)
    return keys


def load_public_keys(paths: list[Path]) -> list[Ed25519PublicKey]:
    """Every key of every file: the trusted set a kiosk verifies HQ's documents with."""
    return [key for path in paths for key in load_public_key_file(path)]
