"""MIFARE Classic access bits (NXP MF1S50 datasheet, section 8.7): encode, decode, validate.

Bytes 6..8 of a sector trailer hold C1, C2, C3 for blocks 0..3 together with their inverted
copies; byte 9 is a free "general purpose byte". A card whose inverted copies disagree locks the
sector for good, so `encode` validates before any trailer can be written and `decode` refuses
inconsistent bits instead of guessing.

    byte 6: ~C2[3..0] ~C1[3..0]      byte 7: C1[3..0] ~C3[3..0]      byte 8: C3[3..0] C2[3..0]
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.cards.errors import AccessBitsError

# Conditions as (C1, C2, C3) tuples.
DATA_TRANSPORT = (0, 0, 0)  # read/write/inc/dec with key A or B
DATA_READ_A_WRITE_B = (1, 0, 0)  # read with key A|B, write with key B only
TRAILER_TRANSPORT = (0, 0, 1)  # key A writes keys and access bits; key B readable
TRAILER_KEYS_BY_B = (0, 1, 1)  # keys and access bits writable with key B; key B never readable

GPB_DEFAULT = 0x69  # transport value of the general purpose byte (0xC1 would announce a MAD)


@dataclass(frozen=True)
class AccessConditions:
    """Conditions (C1, C2, C3) for data blocks 0..2 and the trailer (block 3) of one sector."""

    blocks: tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]
    gpb: int = GPB_DEFAULT

    @classmethod
    def uniform(
        cls, data: tuple[int, int, int], trailer: tuple[int, int, int], gpb: int = GPB_DEFAULT
    ) -> AccessConditions:
        return cls((data, data, data, trailer), gpb)


TRANSPORT = AccessConditions.uniform(DATA_TRANSPORT, TRAILER_TRANSPORT)
MEMBER = AccessConditions.uniform(DATA_READ_A_WRITE_B, TRAILER_KEYS_BY_B)


def encode(conditions: AccessConditions) -> bytes:
    """Four bytes (6..9 of the trailer) for `conditions`; raises AccessBitsError on bad input."""
    if len(conditions.blocks) != 4:
        raise AccessBitsError("need conditions for exactly 4 blocks")
    c1 = c2 = c3 = 0
    for block, cond in enumerate(conditions.blocks):
        if len(cond) != 3 or any(bit not in (0, 1) for bit in cond):
            raise AccessBitsError(f"block {block}: condition must be three bits, got {cond!r}")
        c1 |= cond[0] << block
        c2 |= cond[1] << block
        c3 |= cond[2] << block
    if not 0 <= conditions.gpb <= 255:
        raise AccessBitsError("general purpose byte must be 0..255")
    byte6 = ((~c2 & 0xF) << 4) | (~c1 & 0xF)
    byte7 = (c1 << 4) | (~c3 & 0xF)
    byte8 = (c3 << 4) | c2
    return bytes([byte6, byte7, byte8, conditions.gpb])


def decode(access: bytes) -> AccessConditions:
    """Conditions from trailer bytes 6..9 (or 6..8); AccessBitsError if the copies disagree."""
    if len(access) not in (3, 4):
        raise AccessBitsError(f"access bits are 3 or 4 bytes, got {len(access)}")
    byte6, byte7, byte8 = access[0], access[1], access[2]
    c1, c1_inv = byte7 >> 4, byte6 & 0xF
    c2, c2_inv = byte8 & 0xF, byte6 >> 4
    c3, c3_inv = byte8 >> 4, byte7 & 0xF
    if c1 ^ c1_inv != 0xF or c2 ^ c2_inv != 0xF or c3 ^ c3_inv != 0xF:
        raise AccessBitsError("inverted copies of the access bits disagree")

    def bits(block: int) -> tuple[int, int, int]:
        return (c1 >> block) & 1, (c2 >> block) & 1, (c3 >> block) & 1

    gpb = access[3] if len(access) == 4 else GPB_DEFAULT
    return AccessConditions((bits(0), bits(1), bits(2), bits(3)), gpb)


def trailer(key_a: bytes, conditions: AccessConditions, key_b: bytes) -> bytes:
    """A whole 16-byte sector trailer: key A, access bits + GPB, key B."""
    if len(key_a) != 6 or len(key_b) != 6:
        raise AccessBitsError("keys are 6 bytes")
    return key_a + encode(conditions) + key_b
