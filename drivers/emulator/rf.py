"""Frames on the 13.56 MHz air interface as the emulator sees them: bytes plus a bit count.

A frame's last byte may be partial (short frames, anticollision); several cards answering at once
merge bit by bit, and the first differing bit is a collision exactly as the MFRC522 reports it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    """`data` holds `nbits` bits, least significant bit of each byte first on air."""

    data: bytes
    nbits: int

    @classmethod
    def of(cls, data: bytes, last_bits: int = 0) -> Frame:
        if not data:
            return cls(b"", 0)
        return cls(bytes(data), (len(data) - 1) * 8 + (last_bits or 8))

    @property
    def is_short(self) -> bool:
        return self.nbits == 7

    def bits(self) -> list[int]:
        return [(self.data[i // 8] >> (i % 8)) & 1 for i in range(self.nbits)]

    @classmethod
    def from_bits(cls, bits: list[int]) -> Frame:
        out = bytearray((len(bits) + 7) // 8)
        for i, bit in enumerate(bits):
            if bit:
                out[i // 8] |= 1 << (i % 8)
        return cls(bytes(out), len(bits))


@dataclass(frozen=True)
class Reply:
    """A card's answer and how long after the standard frame delay it starts."""

    frame: Frame
    extra_delay_s: float = 0.0

    @classmethod
    def data(cls, data: bytes, extra_delay_s: float = 0.0) -> Reply:
        return cls(Frame.of(data), extra_delay_s)

    @classmethod
    def nibble(cls, value: int, extra_delay_s: float = 0.0) -> Reply:
        return cls(Frame(bytes((value & 0x0F,)), 4), extra_delay_s)


ACK = 0x0A
NAK_INVALID = 0x04  # operation not allowed / invalid argument
NAK_TRANSMISSION = 0x05  # parity or CRC error


@dataclass(frozen=True)
class Reception:
    """What the receiver got: merged bits, and the collision position (1-based, 0 = none)."""

    frame: Frame
    collision_at: int = 0
    delay_s: float = 0.0
    parity_error: bool = False


def merge(replies: list[Reply]) -> Reception:
    """Combine simultaneous answers the way Manchester coding does: differing bits collide."""
    if len(replies) == 1:
        return Reception(replies[0].frame, 0, replies[0].extra_delay_s)
    bit_lists = [r.frame.bits() for r in replies]
    length = max(len(b) for b in bit_lists)
    merged: list[int] = []
    collision_at = 0
    for i in range(length):
        column = {b[i] for b in bit_lists if i < len(b)}
        if collision_at == 0 and (len(column) > 1 or any(i >= len(b) for b in bit_lists)):
            collision_at = i + 1
        merged.append(1 if 1 in column else 0)
    return Reception(Frame.from_bits(merged), collision_at, max(r.extra_delay_s for r in replies))
