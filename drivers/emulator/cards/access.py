"""MIFARE Classic access conditions, exactly as tabled in the NXP MF1S50 datasheet (section 8.7).

Access bytes 6..8 of a sector trailer hold C1, C2, C3 for each of the sector's four blocks, each
also stored inverted; a trailer whose copies disagree blocks the whole sector. The tables say which
key (A, B, both or none) may do what. Where key B is readable it cannot be used as a key: the card
authenticates it but refuses every later memory access.
"""

from __future__ import annotations

from dataclasses import dataclass

Bits = tuple[int, int, int]
#: (C1, C2, C3) of a sector's blocks 0..3; block 3 is the trailer.
Conditions = tuple[Bits, Bits, Bits, Bits]
A = frozenset("A")
B = frozenset("B")
AB = frozenset("AB")
NEVER: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DataRule:
    read: frozenset[str]
    write: frozenset[str]
    increment: frozenset[str]
    decrement: frozenset[str]  # also transfer and restore


@dataclass(frozen=True)
class TrailerRule:
    key_a_write: frozenset[str]
    access_read: frozenset[str]
    access_write: frozenset[str]
    key_b_read: frozenset[str]
    key_b_write: frozenset[str]


DATA_RULES: dict[Bits, DataRule] = {
    (0, 0, 0): DataRule(AB, AB, AB, AB),  # transport configuration
    (0, 1, 0): DataRule(AB, NEVER, NEVER, NEVER),
    (1, 0, 0): DataRule(AB, B, NEVER, NEVER),
    (1, 1, 0): DataRule(AB, B, B, AB),  # value block
    (0, 0, 1): DataRule(AB, NEVER, NEVER, AB),  # value block
    (0, 1, 1): DataRule(B, B, NEVER, NEVER),
    (1, 0, 1): DataRule(B, NEVER, NEVER, NEVER),
    (1, 1, 1): DataRule(NEVER, NEVER, NEVER, NEVER),
}

TRAILER_RULES: dict[Bits, TrailerRule] = {
    (0, 0, 0): TrailerRule(A, A, NEVER, A, A),
    (0, 1, 0): TrailerRule(NEVER, A, NEVER, A, NEVER),
    (1, 0, 0): TrailerRule(B, AB, NEVER, NEVER, B),
    (1, 1, 0): TrailerRule(NEVER, AB, NEVER, NEVER, NEVER),
    (0, 0, 1): TrailerRule(A, A, A, A, A),  # transport configuration
    (0, 1, 1): TrailerRule(B, AB, B, NEVER, B),
    (1, 0, 1): TrailerRule(NEVER, AB, B, NEVER, NEVER),
    (1, 1, 1): TrailerRule(NEVER, AB, NEVER, NEVER, NEVER),
}

TRANSPORT_ACCESS = bytes((0xFF, 0x07, 0x80))


def decode(access: bytes) -> Conditions | None:
    """(C1, C2, C3) for blocks 0..3 of the sector, or None if the inverted copies disagree."""
    b6, b7, b8 = access[0], access[1], access[2]
    c1, c2, c3 = b7 >> 4, b8 & 0x0F, b8 >> 4
    if (b6 & 0x0F) != (~c1 & 0x0F) or (b6 >> 4) != (~c2 & 0x0F) or (b7 & 0x0F) != (~c3 & 0x0F):
        return None

    def bits(i: int) -> Bits:
        return (c1 >> i) & 1, (c2 >> i) & 1, (c3 >> i) & 1

    return bits(0), bits(1), bits(2), bits(3)


def encode(blocks: Conditions) -> bytes:
    """Access bytes 6..8 for the given (C1, C2, C3) of blocks 0..3."""
    c1 = sum(bits[0] << i for i, bits in enumerate(blocks))
    c2 = sum(bits[1] << i for i, bits in enumerate(blocks))
    c3 = sum(bits[2] << i for i, bits in enumerate(blocks))
    return bytes((((~c2 & 0x0F) << 4) | (~c1 & 0x0F), (c1 << 4) | (~c3 & 0x0F), (c3 << 4) | c2))


def key_b_readable(trailer_bits: Bits) -> bool:
    return "A" in TRAILER_RULES[trailer_bits].key_b_read
