"""Voucher key material for tests: directory entries and payloads as HQ signs them, codes a kiosk
signed, and codes edited after signing."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.ledger.vouchers import encode_voucher_code
from tests.ledger.conftest import DAY, T0

SINCE = "2026-01-01T00:00:00+00:00"


def key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def entry(
    device_id: str,
    key: Ed25519PrivateKey,
    *,
    store_id: str = "store-1",
    valid_from: str = SINCE,
    valid_until: str | None = None,
    revoked_at: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "store_id": store_id,
        "public_key": key_b64(key),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "revoked_at": revoked_at,
        "reason": reason,
    }


def payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(entries)}


def signed_code(
    key: Ed25519PrivateKey,
    device_id: str = "kiosk-01",
    *,
    issued: dt.datetime = T0,
    expires: dt.datetime | None = None,
    serial: int = 7,
) -> str:
    return encode_voucher_code(
        key,
        device_id=device_id,
        serial=serial,
        issued_at=issued,
        expires_at=expires or issued + 30 * DAY,
        value_fen=1000,
        reward_id="off-10",
    )


def edited(code: str) -> str:
    """The code with its value raised by one fen after signing (still well-formed base32)."""
    raw = bytearray(base64.b32decode(code + "=" * (-len(code) % 8)))
    raw[16] ^= 0x01  # low byte of value_fen
    return base64.b32encode(bytes(raw)).decode("ascii").rstrip("=")
