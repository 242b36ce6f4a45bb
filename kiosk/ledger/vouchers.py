"""Voucher codes: signed, compact, verifiable at the till without the kiosk.

A code is base32 (QR alphanumeric mode, so the QR stays small) of a small binary payload followed
by the issuing device's Ed25519 signature over it:

    version u8 (=1) | serial u32 | issued_at u32 | expires_at u32 | value_fen u32
    | len u8 + device_id utf-8 | len u8 + reward_id utf-8 | signature 64 bytes

Times are Unix seconds (UTC). A typical code is about 100 bytes -> ~160 characters. The short human
code ("K7QM-3XPA") is a hash of the full code in Crockford base32: staff can read it aloud and look
the voucher up, but only the full code proves itself.

Signing uses cryptography's Ed25519 (OpenSSL), the one Ed25519 implementation of the project:
~33 us a signature, once per redemption, at human pace. (libsodium signed in ~20 us, which did not
pay for a second crypto dependency.)

`parse_voucher_code` never raises anything but MalformedVoucherCode (a ValueError) on garbage.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.ledger.errors import LedgerError

FORMAT_VERSION = 1
_HEADER = struct.Struct(">BIIII")
_SIG_LEN = 64
_MAX_ID = 64
#: Raw input longer than this is refused before any work (codes are ~160 characters, spaced ~180).
_MAX_INPUT = 4096
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Standard base32 digits to Crockford's: the same 5-bit values, other symbols.
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode("ascii"))
_UTC = dt.UTC


class MalformedVoucherCode(LedgerError, ValueError):
    """The text is not a voucher code of a format this kiosk knows; the message says why."""


@dataclass(frozen=True)
class VoucherCode:
    device_id: str
    serial: int
    issued_at: dt.datetime  # UTC
    expires_at: dt.datetime  # UTC
    value_fen: int
    reward_id: str
    signed: bytes  # the bytes the signature covers
    signature: bytes

    @property
    def voucher_id(self) -> str:
        return voucher_id(self.device_id, self.serial)


class Signer(Protocol):
    def sign(self, data: bytes) -> bytes: ...


class VoucherSigner:
    """Signs voucher payloads with the device's Ed25519 key."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def voucher_id(device_id: str, serial: int) -> str:
    return f"{device_id}-{serial}"


def _unix(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("voucher times must be timezone-aware")
    seconds = int(value.timestamp())
    if not 0 <= seconds < 2**32:
        raise ValueError(f"voucher time {value.isoformat()} out of range")
    return seconds


def _short_id(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if not raw or len(raw) > _MAX_ID:
        raise ValueError(f"{what} must be 1..{_MAX_ID} bytes of UTF-8, got {len(raw)}")
    return bytes([len(raw)]) + raw


def encode_voucher_code(
    key: Signer,
    *,
    device_id: str,
    serial: int,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    value_fen: int,
    reward_id: str,
) -> str:
    """Build and sign a voucher code (`key`: a VoucherSigner, or an Ed25519PrivateKey)."""
    if not 0 <= serial < 2**32 or not 0 <= value_fen < 2**32:
        raise ValueError("serial and value_fen must fit in 32 bits")
    payload = (
        _HEADER.pack(FORMAT_VERSION, serial, _unix(issued_at), _unix(expires_at), value_fen)
        + _short_id(device_id, "device_id")
        + _short_id(reward_id, "reward_id")
    )
    return base64.b32encode(payload + key.sign(payload)).decode("ascii").rstrip("=")


def canonical_code(code: str) -> str:
    """The code as the kiosk printed it: scanners add spaces, line breaks, lower case or padding,
    and the short code is a hash of the exact text, so it is taken of this form."""
    return "".join(code.split()).upper().rstrip("=")


def normalise_short_code(text: str) -> str:
    """A typed short code: any case, with or without the dash or spaces; Crockford's O->0, I/L->1."""
    raw = "".join(text.split()).replace("-", "").upper().translate(str.maketrans("OIL", "011"))
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw


def short_code(code: str) -> str:
    """8 Crockford base32 characters from the canonical code's hash, shown as "XXXX-XXXX"."""
    # 5 bytes = exactly 8 base32 digits, most significant first, then Crockford's symbols.
    digest = hashlib.sha256(canonical_code(code).encode("ascii", "replace")).digest()[:5]
    chars = base64.b32encode(digest).translate(_TO_CROCKFORD).decode("ascii")
    return f"{chars[:4]}-{chars[4:]}"


def _read_id(data: bytes, offset: int, what: str) -> tuple[str, int]:
    if offset >= len(data):
        raise MalformedVoucherCode(f"truncated before {what}")
    length = data[offset]
    end = offset + 1 + length
    if length == 0 or end > len(data):
        raise MalformedVoucherCode(f"bad {what} length {length}")
    try:
        return data[offset + 1 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise MalformedVoucherCode(f"{what} is not UTF-8") from None


def parse_voucher_code(code: object) -> VoucherCode:
    """Decode a voucher code without checking its signature."""
    if not isinstance(code, str):
        raise MalformedVoucherCode(f"a voucher code is text, got {type(code).__name__}")
    if len(code) > _MAX_INPUT:
        raise MalformedVoucherCode(f"too long for a voucher code ({len(code)} characters)")
    padded = "".join(code.split())
    # Checked before upper(): "ı".upper() is "I" and "ﬀ".upper() is "FF", so lookalikes would
    # otherwise turn into a different text that still verifies.
    if not padded.isascii():
        raise MalformedVoucherCode("contains characters outside base32 (A-Z, 2-7)")
    padded = padded.upper()
    text = padded.rstrip("=")
    if not text:
        raise MalformedVoucherCode("empty code")
    if len(text) > 1024:
        raise MalformedVoucherCode(f"too long for a voucher code ({len(text)} characters)")
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in text):
        raise MalformedVoucherCode("contains characters outside base32 (A-Z, 2-7)")
    padding = len(padded) - len(text)
    if padding and padding != -len(text) % 8:
        raise MalformedVoucherCode(f"wrong base32 padding ({padding} '=')")
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise MalformedVoucherCode("not valid base32 (wrong length)") from None
    # The last character may carry bits beyond the data, which the decoder drops; accepting them
    # would give one voucher many texts (and many short codes).
    if base64.b32encode(data).decode("ascii").rstrip("=") != text:
        raise MalformedVoucherCode("not the canonical base32 form (stray bits in the last character)")
    if len(data) < _HEADER.size + 4 + _SIG_LEN:
        raise MalformedVoucherCode(f"too short ({len(data)} bytes)")
    version, serial, issued, expires, value = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise MalformedVoucherCode(f"unknown format version {version}")
    device_id, offset = _read_id(data, _HEADER.size, "device_id")
    reward_id, offset = _read_id(data, offset, "reward_id")
    if len(data) - offset != _SIG_LEN:
        raise MalformedVoucherCode(f"signature must be {_SIG_LEN} bytes, got {len(data) - offset}")
    return VoucherCode(
        device_id=device_id,
        serial=serial,
        issued_at=dt.datetime.fromtimestamp(issued, _UTC),
        expires_at=dt.datetime.fromtimestamp(expires, _UTC),
        value_fen=value,
        reward_id=reward_id,
        signed=data[:offset],
        signature=data[offset:],
    )


class VerifyStatus(str, enum.Enum):
    VALID = "valid"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    UNKNOWN_DEVICE = "unknown_device"
    MALFORMED = "malformed"
    # From the key directory (kiosk.ledger.voucher_keys):
    REVOKED_KEY = "revoked_key"
    KEY_NOT_VALID_THEN = "key_not_valid_then"
    OTHER_STORE = "other_store"


@dataclass(frozen=True)
class VerifyResult:
    status: VerifyStatus
    reason: str
    voucher: VoucherCode | None = None

    @property
    def ok(self) -> bool:
        return self.status is VerifyStatus.VALID


def verify_voucher_code(code: object, public_keys: Mapping[str, Ed25519PublicKey], now: dt.datetime) -> VerifyResult:
    """Check a code's signature against the issuing device's key, then its expiry.

    Whether a valid code was already used is the till's / HQ's knowledge, not the code's.
    """
    try:
        parsed = parse_voucher_code(code)
    except MalformedVoucherCode as exc:
        return VerifyResult(VerifyStatus.MALFORMED, str(exc))
    key = public_keys.get(parsed.device_id)
    if key is None:
        return VerifyResult(VerifyStatus.UNKNOWN_DEVICE, f"no public key for device {parsed.device_id!r}", parsed)
    try:
        key.verify(parsed.signature, parsed.signed)
    except InvalidSignature:
        return VerifyResult(VerifyStatus.BAD_SIGNATURE, "signature does not match the issuing device's key", parsed)
    if now >= parsed.expires_at:
        return VerifyResult(VerifyStatus.EXPIRED, f"expired at {parsed.expires_at.isoformat()}", parsed)
    return VerifyResult(VerifyStatus.VALID, f"valid until {parsed.expires_at.isoformat()}", parsed)
