"""Member PINs as HQ stores and sends them: a salted scrypt hash with its parameters, never the PIN.

    scrypt$n=16384,r=8,p=1$<salt, base64>$<hash, base64>

scrypt is memory-hard (128 * n * r bytes: 16 MiB at n=2^14, r=8), so a stolen member snapshot
costs an attacker memory as well as time per guess; a 4-6 digit PIN has at most a million values,
so the hash alone does not make guessing impossible, it makes it slow. What stops a thief at the
kiosk is the failure counter (kiosk.ledger.pin_lock), not the KDF.

HQ hashes (hq/service/pins.py); a kiosk only verifies, locally and in constant time. Parameters
travel with the hash, so HQ can raise them later without a protocol change; the kiosk refuses
parameters outside `MIN_N`..`MAX_N` (a snapshot must not make it allocate 1 GiB per tap).
Only the standard library: `hashlib.scrypt` is OpenSSL's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from kiosk.ledger.errors import InvalidDocument

#: The cost HQ uses: 16 MiB and ~40-60 ms per verification on a desktop core (docs/benchmarks.md,
#: `python -m bench.pin`), a few times that on a Pi 4: well under the 300 ms a member waits.
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
#: What a kiosk accepts from HQ. Below 2^12 the hash is cheap to brute-force; above 2^16 (64 MiB
#: with r=8) a Pi 3's verification takes seconds and its memory is at risk.
MIN_N = 2**12
MAX_N = 2**16
MAX_R = 16
MAX_P = 4
SALT_BYTES = 16
HASH_BYTES = 32
#: 4 to 6 digits, as the service desk's form and the keypad allow.
PIN_PATTERN = re.compile(r"[0-9]{4,6}")
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 6

_FORMAT = re.compile(
    r"scrypt\$n=([0-9]{1,7}),r=([0-9]{1,2}),p=([0-9])\$([A-Za-z0-9+/=]{1,100})\$([A-Za-z0-9+/=]{1,100})"
)


class InvalidPinHash(InvalidDocument):
    """A PIN hash string that is not in the format above or has parameters out of bounds."""


@dataclass(frozen=True)
class PinHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"scrypt$n={self.n},r={self.r},p={self.p}${salt}${digest}"


def valid_pin(pin: str) -> bool:
    return isinstance(pin, str) and PIN_PATTERN.fullmatch(pin) is not None


def _derive(pin: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is just above 16 MiB; allow what MAX_N, MAX_R need.
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=length)


def hash_pin(pin: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P, salt: bytes | None = None) -> str:
    """The hash string for `pin` (4-6 digits) with a fresh random salt."""
    if not valid_pin(pin):
        raise ValueError("a PIN is 4 to 6 digits")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    _check(n, r, p, salt, b"\0" * HASH_BYTES)
    return PinHash(n, r, p, salt, _derive(pin, salt, n, r, p, HASH_BYTES)).encode()


def _check(n: int, r: int, p: int, salt: bytes, digest: bytes) -> None:
    if n & (n - 1) or not MIN_N <= n <= MAX_N:
        raise InvalidPinHash(f"scrypt n must be a power of two in {MIN_N}..{MAX_N}, got {n}")
    if not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise InvalidPinHash(f"scrypt r must be 1..{MAX_R} and p 1..{MAX_P}, got r={r}, p={p}")
    if len(salt) < 8:
        raise InvalidPinHash(f"the salt must be at least 8 bytes, got {len(salt)}")
    if not 16 <= len(digest) <= 64:
        raise InvalidPinHash(f"the hash must be 16..64 bytes, got {len(digest)}")


def parse_pin_hash(text: str) -> PinHash:
    """Validate a hash string from HQ; InvalidPinHash says what is wrong (never echoing the hash)."""
    match = _FORMAT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPinHash("not a PIN hash of the form scrypt$n=N,r=R,p=P$salt$hash")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    try:
        salt = base64.b64decode(match.group(4), validate=True)
        digest = base64.b64decode(match.group(5), validate=True)
    except binascii.Error:
        raise InvalidPinHash("salt and hash must be base64") from None
    _check(n, r, p, salt, digest)
    return PinHash(n, r, p, salt, digest)


def verify_pin(pin: str, stored: str | PinHash) -> bool:
    """Whether `pin` matches the stored hash. Constant-time in the comparison; a malformed PIN is
    simply wrong (it still costs one derivation, so timing does not tell the two apart)."""
    parsed = parse_pin_hash(stored) if isinstance(stored, str) else stored
    candidate = pin if valid_pin(pin) else "x"
    derived = _derive(candidate, parsed.salt, parsed.n, parsed.r, parsed.p, len(parsed.digest))
    return hmac.compare_digest(derived, parsed.digest) and candidate == pin
