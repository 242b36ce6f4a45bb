"""Per-card diversified sector keys: AES-CMAC(diversify key, UID, sector, key type) -> 48 bits.

Every card gets its own keys, so a key recovered from one card (Crypto1 is broken) opens only
that card. The transport key and a few public default keys are excluded outright; with 48-bit
outputs a hit is astronomically unlikely, but the rule "never a public key" is cheap to enforce
exactly, and a hit just moves to the next derivation round.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC

from kiosk.cards.keyfile import MasterKeys

KEY_BYTES = 6
SECTORS = 16
TRANSPORT_KEY = bytes.fromhex("FFFFFFFFFFFF")

# Keys a card must never carry. The tests hold a much larger public dictionary; this short list
# covers transport and factory defaults that matter if a derivation ever produced one.
_FORBIDDEN = frozenset(
    bytes.fromhex(k)
    for k in (
        "FFFFFFFFFFFF",
        "000000000000",
        "A0A1A2A3A4A5",
        "B0B1B2B3B4B5",
        "D3F7D3F7D3F7",
        "AABBCCDDEEFF",
        "4D3A99C351DD",
        "1A982C7E459A",
        "714C5C886E97",
        "587EE5F9350F",
        "A0478CC39091",
        "533CB6C723F6",
        "8FD0A4F256E9",
        "A31667A8CEC1",  # FM11RF08S backdoor key
        "A396EFA4E24F",  # FM11RF08S backdoor key (newer batches)
        "518B3354E760",  # FM11RF08 backdoor key
    )
)
_DOMAIN = b"kiosk/mfc1k-sector-key/v1"


@dataclass(frozen=True)
class SectorKeys:
    """Key A (reads) and key B (writes, key changes) of one sector of one card."""

    sector: int
    key_a: bytes
    key_b: bytes

    def __repr__(self) -> str:  # keys never end up in logs by accident
        return f"SectorKeys(sector={self.sector}, keys=<redacted>)"


def is_forbidden_key(key: bytes) -> bool:
    """True for public default keys and degenerate keys (all six bytes equal)."""
    return key in _FORBIDDEN or len(set(key)) == 1


def sector_keys(master: MasterKeys, uid: bytes, sector: int) -> SectorKeys:
    """Derive both keys of `sector` for the card with `uid` (4, 7 or 10 bytes)."""
    if not 0 <= sector < SECTORS:
        raise ValueError(f"sector {sector} out of range 0..{SECTORS - 1}")
    if len(uid) not in (4, 7, 10):
        raise ValueError(f"UID must be 4, 7 or 10 bytes, not {len(uid)}")
    key_a = _derive(master, uid, sector, b"A")
    key_b = _derive(master, uid, sector, b"B")
    if key_b == key_a:  # cannot realistically happen; one more round keeps the rule exact
        key_b = _derive(master, uid, sector, b"B", start_round=1)
    return SectorKeys(sector, key_a, key_b)


def _derive(master: MasterKeys, uid: bytes, sector: int, key_type: bytes, start_round: int = 0) -> bytes:
    for round_no in range(start_round, start_round + 256):
        mac = CMAC(algorithms.AES(master.diversify_key))
        # Length-prefixed fields: no two (uid, sector, type, round) inputs share an encoding.
        mac.update(bytes([len(_DOMAIN)]) + _DOMAIN + bytes([len(uid)]) + uid)
        mac.update(bytes([sector]) + key_type + bytes([round_no]))
        key = mac.finalize()[:KEY_BYTES]
        if not is_forbidden_key(key):
            return key
    raise AssertionError("unreachable: 256 forbidden keys in a row")
