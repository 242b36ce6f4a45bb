"""Loading (and creating) the card master key file named by `security.card_master_key`.

File format (UTF-8 text, one `name: value` per line, `#` comments):

    # Kiosk card master key. Secret: mode 0600 or 0640, owned by the kiosk user.
    format: kiosk-card-keys/1
    key_id: 1
    master_key: <64 hex digits = 32 random bytes>

Two working keys are derived from the master key with HKDF-SHA256 and distinct labels, so the
key that diversifies sector keys is never the key that MACs records (the card only ever sees
diversified sector keys; the MAC key never leaves the kiosk). Key bytes never appear in
exceptions, `repr()` or logs.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.cards.errors import MasterKeyFileError

_LOG = logging.getLogger(__name__)

FORMAT_TAG = "kiosk-card-keys/1"
MASTER_KEY_BYTES = 32
_DIVERSIFY_LABEL = b"kiosk/cards/sector-key-diversification/v1"
_MAC_LABEL = b"kiosk/cards/record-mac/v1"


class MasterKeys:
    """The two derived working keys and the key generation id. Opaque on purpose."""

    __slots__ = ("key_id", "_diversify", "_mac")

    def __init__(self, master_key: bytes, key_id: int) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise MasterKeyFileError(f"master key must be {MASTER_KEY_BYTES} bytes")
        if len(set(master_key)) < 8:
            # A key made of a handful of distinct bytes is a placeholder, not a random key.
            raise MasterKeyFileError("master key is not random (too few distinct bytes)")
        if not 0 <= key_id <= 255:
            raise MasterKeyFileError("key_id must be 0..255 (it is stored in one byte on the card)")
        self.key_id = key_id
        self._diversify = _derive(master_key, _DIVERSIFY_LABEL, 16)  # AES-128 CMAC key
        self._mac = _derive(master_key, _MAC_LABEL, 32)  # HMAC-SHA256 key

    @property
    def diversify_key(self) -> bytes:
        return self._diversify

    @property
    def mac_key(self) -> bytes:
        return self._mac

    def __repr__(self) -> str:
        return f"MasterKeys(key_id={self.key_id}, keys=<redacted>)"

    __str__ = __repr__


def _derive(master: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(master)


def load_master_keys(path: Path, *, check_permissions: bool = True) -> MasterKeys:
    """Read and validate the key file; raise MasterKeyFileError with a reason that names no key bytes."""
    try:
        st = path.stat()
    except OSError as exc:
        raise MasterKeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    if check_permissions and os.name == "posix" and st.st_mode & (stat.S_IRWXO | stat.S_IWGRP):
        raise MasterKeyFileError(
            f"{path}: key file must not be accessible to others (mode {stat.S_IMODE(st.st_mode):04o}; use chmod 600)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyFileError(f"{path}: cannot read key file ({type(exc).__name__})") from None
    fields = _parse_fields(text, path)
    if fields.get("format") != FORMAT_TAG:
        raise MasterKeyFileError(f"{path}: first field must be 'format: {FORMAT_TAG}'")
    for required in ("key_id", "master_key"):
        if required not in fields:
            raise MasterKeyFileError(f"{path}: missing '{required}'")
    unknown = set(fields) - {"format", "key_id", "master_key"}
    if unknown:
        raise MasterKeyFileError(f"{path}: unknown field(s) {sorted(unknown)}")
    try:
        key_id = int(fields["key_id"], 10)
    except ValueError:
        raise MasterKeyFileError(f"{path}: key_id must be a decimal number") from None
    hex_key = fields["master_key"]
    if len(hex_key) != 2 * MASTER_KEY_BYTES:
        raise MasterKeyFileError(f"{path}: master_key must be {2 * MASTER_KEY_BYTES} hex digits")
    try:
        master = bytes.fromhex(hex_key)
    except ValueError:
        raise MasterKeyFileError(f"{path}: master_key must be hex digits only") from None
    keys = MasterKeys(master, key_id)
    _LOG.info("loaded card master key id %d from %s", key_id, path)
    return keys


def _parse_fields(text: str, path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MasterKeyFileError(f"{path}:{lineno}: expected 'name: value'")
        name = name.strip()
        if name in fields:
            raise MasterKeyFileError(f"{path}:{lineno}: '{name}' given twice")
        fields[name] = value.strip()
    return fields


def create_key_file(path: Path, key_id: int = 1) -> None:
    """Write a fresh random master key file (mode 0600); never overwrites an existing file."""
    master = secrets.token_bytes(MASTER_KEY_BYTES)
    MasterKeys(master, key_id)  # validate before anything touches the disk
    body = (
        "# Kiosk card master key. Secret: keep mode 0600, never commit or log it.\n"
        f"format: {FORMAT_TAG}\nkey_id: {key_id}\nmaster_key: {master.hex()}\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MasterKeyFileError(f"{path}: already exists; refusing to overwrite a key file") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
