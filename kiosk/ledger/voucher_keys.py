"""The voucher key directory: which kiosk public keys may sign vouchers, for which store, and when.

HQ signs the directory (a `voucher_keys` document, docs/mqtt.md) and pushes it to every kiosk;
tills fetch it over HTTP (`GET /v1/voucher-keys`). Everything that verifies a voucher does it with
this public material only: a till never holds a key that could create a voucher.

Payload of the document:

    {"keys": [{"device_id": "kiosk-01", "store_id": "store-1",
               "public_key": "<base64 of the raw 32-byte Ed25519 key>",
               "valid_from": "2026-01-01T00:00:00+00:00", "valid_until": null,
               "revoked_at": null, "reason": null}, ...]}

A device may have several keys (a rotation). A revoked key refuses every voucher it signed, whatever
date the voucher claims: a stolen key can write any issue date, so no date can be trusted after it.
A voucher whose issue date lies outside its key's validity is refused too.

Pure: no I/O. `VoucherKeyDirectory.from_payload` raises `ValueError` naming the bad entry.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.ledger.vouchers import MalformedVoucherCode, VerifyResult, VerifyStatus, VoucherCode, parse_voucher_code

#: More keys than any fleet has kiosks times rotations: a directory beyond this is refused.
MAX_KEYS = 20_000


@dataclass(frozen=True)
class DirectoryEntry:
    device_id: str
    store_id: str
    public_key: Ed25519PublicKey
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    reason: str | None = None

    def covers(self, moment: dt.datetime) -> bool:
        """Whether `moment` lies in the key's validity period (revocation aside)."""
        # Voucher times are whole seconds: a key registered at 10:00:00.6 covers a voucher of 10:00:00.
        return self.valid_from.replace(microsecond=0) <= moment and (
            self.valid_until is None or moment <= self.valid_until
        )

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")

    def as_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "store_id": self.store_id,
            "public_key": self.public_key_b64,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DirectoryVerdict:
    """A verification against the directory, with the store whose kiosk issued the voucher."""

    result: VerifyResult
    store_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def status(self) -> VerifyStatus:
        return self.result.status

    @property
    def reason(self) -> str:
        return self.result.reason

    @property
    def voucher(self) -> VoucherCode | None:
        return self.result.voucher


def public_key_from_b64(text: object) -> Ed25519PublicKey:
    if not isinstance(text, str):
        raise ValueError("public_key must be base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("public_key is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"public_key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _time(entry: Mapping[str, Any], field: str, *, required: bool) -> dt.datetime | None:
    value = entry.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an RFC 3339 time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{field} {value!r} has no UTC offset")
    return moment


def _text(entry: Mapping[str, Any], field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise ValueError(f"{field} must be 1..64 characters")
    return value


def parse_entry(entry: object) -> DirectoryEntry:
    if not isinstance(entry, Mapping):
        raise ValueError("an entry must be an object")
    reason = entry.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValueError("reason must be text of at most 500 characters")
    return DirectoryEntry(
        device_id=_text(entry, "device_id"),
        store_id=_text(entry, "store_id"),
        public_key=public_key_from_b64(entry.get("public_key")),
        valid_from=_time(entry, "valid_from", required=True),  # type: ignore[arg-type]
        valid_until=_time(entry, "valid_until", required=False),
        revoked_at=_time(entry, "revoked_at", required=False),
        reason=reason,
    )


class VoucherKeyDirectory:
    """The keys of a directory document, by device; `verify` is all a till needs."""

    def __init__(self, entries: Iterable[DirectoryEntry]) -> None:
        self._by_device: dict[str, list[DirectoryEntry]] = {}
        for entry in entries:
            self._by_device.setdefault(entry.device_id, []).append(entry)

    @classmethod
    def from_payload(cls, payload: object) -> VoucherKeyDirectory:
        if not isinstance(payload, Mapping) or not isinstance(payload.get("keys"), list):
            raise ValueError("a voucher key directory is an object with a `keys` list")
        keys = payload["keys"]
        if len(keys) > MAX_KEYS:
            raise ValueError(f"{len(keys)} keys is more than {MAX_KEYS}")
        entries = []
        for index, raw in enumerate(keys):
            try:
                entries.append(parse_entry(raw))
            except ValueError as exc:
                raise ValueError(f"keys[{index}]: {exc}") from None
        return cls(entries)

    def entries(self) -> list[DirectoryEntry]:
        return [entry for group in self._by_device.values() for entry in group]

    def as_payload(self) -> dict[str, Any]:
        return {"keys": [entry.as_json() for entry in self.entries()]}

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_device.values())

    def store_of(self, device_id: str) -> str | None:
        group = self._by_device.get(device_id)
        return group[-1].store_id if group else None

    def verify(self, code: object, now: dt.datetime, *, store_id: str | None = None) -> DirectoryVerdict:
        """Signature, key validity and revocation, expiry, and (with `store_id`) the issuing store.

        `store_id` None accepts vouchers from every store (fleet policy).
        """
        try:
            parsed = parse_voucher_code(code)
        except MalformedVoucherCode as exc:
            return DirectoryVerdict(VerifyResult(VerifyStatus.MALFORMED, str(exc)))
        group = self._by_device.get(parsed.device_id)
        if not group:
            return DirectoryVerdict(
                VerifyResult(VerifyStatus.UNKNOWN_DEVICE, f"no key for device {parsed.device_id!r}", parsed)
            )
        signers = [e for e in group if _signed_by(e.public_key, parsed)]
        if not signers:
            return DirectoryVerdict(
                VerifyResult(VerifyStatus.BAD_SIGNATURE, "signature does not match the issuing device's keys", parsed)
            )
        # One key may be listed more than once (validity periods, a revocation added as a new row):
        # any revocation of it wins, else the entry whose period holds the issue date.
        revoked = next((e for e in signers if e.revoked_at is not None), None)
        signer = revoked or next((e for e in signers if e.covers(parsed.issued_at)), signers[0])
        if signer.revoked_at is not None:
            why = f" ({signer.reason})" if signer.reason else ""
            return DirectoryVerdict(
                VerifyResult(
                    VerifyStatus.REVOKED_KEY,
                    f"device {parsed.device_id}'s key was revoked at {signer.revoked_at.isoformat()}{why}",
                    parsed,
                ),
                signer.store_id,
            )
        if not signer.covers(parsed.issued_at):
            return DirectoryVerdict(
                VerifyResult(
                    VerifyStatus.KEY_NOT_VALID_THEN,
                    f"issued {parsed.issued_at.isoformat()}, when device {parsed.device_id}'s key was not valid",
                    parsed,
                ),
                signer.store_id,
            )
        if now >= parsed.expires_at:
            return DirectoryVerdict(
                VerifyResult(VerifyStatus.EXPIRED, f"expired at {parsed.expires_at.isoformat()}", parsed),
                signer.store_id,
            )
        if store_id is not None and signer.store_id != store_id:
            return DirectoryVerdict(
                VerifyResult(
                    VerifyStatus.OTHER_STORE,
                    f"issued in store {signer.store_id}; this till may take vouchers of store {store_id} only",
                    parsed,
                ),
                signer.store_id,
            )
        return DirectoryVerdict(
            VerifyResult(VerifyStatus.VALID, f"valid until {parsed.expires_at.isoformat()}", parsed), signer.store_id
        )


def _signed_by(key: Ed25519PublicKey, parsed: VoucherCode) -> bool:
    try:
        key.verify(parsed.signature, parsed.signed)
    except InvalidSignature:
        return False
    return True
