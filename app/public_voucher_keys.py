"""The public material `kiosk voucher verify` checks codes with. Never a private key.

- this device's voucher public key (`security.voucher_public_key`, which `kiosk keys init` writes),
  entered into the directory under the config's store;
- the key directory HQ pushed to this kiosk (kept in the ledger);
- a signed directory file (`--keys FILE`: what HQ's `GET /v1/voucher-keys` returns), trusted only
  once its signature verifies with `security.hq_public_key`, like a pushed one.

A till PC holding only these can tell a genuine voucher from a forged one but cannot make one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError
from kiosk.config import Config
from kiosk.ledger.voucher_keys import DirectoryEntry, VoucherKeyDirectory
from sync.envelope import EnvelopeVerifier
from sync.errors import PushRejected
from sync.inbound import DEFAULT_MAX_PUSH_BYTES
from sync.keys import SigningKeyError, load_public_key, load_public_key_file
from sync.topics import Scope

#: This device's own key has no validity period in config.yaml: it is good for every voucher the
#: device ever issued, unless HQ's directory revokes it.
_ALWAYS = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class VoucherKeysUnusable(AppError, ValueError):
    """A key file named for verification cannot be used; the message says which and why."""


@dataclass(frozen=True)
class SignedDirectory:
    """A key directory HQ signed, with its version and where it came from ("ledger" or a file)."""

    version: int
    directory: VoucherKeyDirectory
    source: str


def own_key_entry(config: Config) -> DirectoryEntry | None:
    """This device's public voucher key as a directory entry, or None when the file is missing."""
    path = config.security.voucher_public_key_file
    if not path.exists():
        return None
    try:
        key = load_public_key(path)
    except SigningKeyError as exc:
        raise VoucherKeysUnusable(f"security.voucher_public_key: {exc}") from None
    return DirectoryEntry(
        device_id=config.device.id, store_id=config.device.store_id, public_key=key, valid_from=_ALWAYS
    )


def read_signed_directory(path: Path, config: Config, now: dt.datetime) -> SignedDirectory:
    """A `voucher_keys` envelope from a file, checked like a push: HQ's signature, type, scope, time."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(DEFAULT_MAX_PUSH_BYTES + 1)
    except OSError as exc:
        raise VoucherKeysUnusable(f"--keys {path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > DEFAULT_MAX_PUSH_BYTES:
        raise VoucherKeysUnusable(f"--keys {path}: larger than {DEFAULT_MAX_PUSH_BYTES} bytes, not a key directory")
    try:
        hq_keys = load_public_key_file(config.security.hq_public_key)
    except SigningKeyError as exc:
        raise VoucherKeysUnusable(f"security.hq_public_key (needed to check --keys): {exc}") from None
    verifier = EnvelopeVerifier(hq_keys, device_id=config.device.id, store_id=config.device.store_id)
    try:
        push = verifier.verify(raw, expected_type="voucher_keys", topic_scope=Scope.fleet(), now=now)
        directory = VoucherKeyDirectory.from_payload(push.payload)
    except PushRejected as exc:
        raise VoucherKeysUnusable(
            f"--keys {path}: not a voucher key directory signed by HQ ({exc.reason}): {exc.detail}"
        ) from None
    except ValueError as exc:  # signed by HQ, but an entry is malformed
        raise VoucherKeysUnusable(f"--keys {path}: {exc}") from None
    return SignedDirectory(push.version, directory, str(path))


def combined_directory(
    own: DirectoryEntry | None, signed: list[SignedDirectory]
) -> tuple[VoucherKeyDirectory, SignedDirectory | None]:
    """The newest signed directory, plus this device's own key unless that lists it already.

    Listed already means HQ's word about the key counts: a revocation of this device's key (after
    a theft) must not be undone by the key file lying beside it. Returns the directory used too.
    """
    newest = max(signed, key=lambda s: s.version) if signed else None
    entries = newest.directory.entries() if newest else []
    if own is not None and not any(
        e.device_id == own.device_id and e.public_key_b64 == own.public_key_b64 for e in entries
    ):
        entries.append(own)
    return VoucherKeyDirectory(entries), newest
