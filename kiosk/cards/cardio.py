"""Sector-level card I/O over a TagSession: authenticate, read and write one record copy.

A failed authentication knocks a real MIFARE Classic card back to IDLE. The TagSession contract
(drivers/session.py) covers that: after any error the session wakes and re-selects the same UID
before its next operation, so trying a second key is just another `authenticate` call.
"""

from __future__ import annotations

import enum

from kiosk.cards import access, layout
from kiosk.cards.errors import CardFaults, CardKeysUnknown
from kiosk.cards.keys import TRANSPORT_KEY, SectorKeys
from kiosk.cards.ports import TagSession

ZERO_COPY = bytes(layout.RECORD_BLOCKS_PER_COPY * layout.BLOCK_BYTES)
TRANSPORT_TRAILER = access.trailer(TRANSPORT_KEY, access.TRANSPORT, TRANSPORT_KEY)


class SectorKeying(str, enum.Enum):
    TRANSPORT = "transport"  # factory key FF..FF, transport access bits
    DIVERSIFIED = "diversified"  # this card's keys from the master key
    UNKNOWN = "unknown"  # neither: foreign card, other fleet, or another UID's keys


def try_authenticate(session: TagSession, block: int, key: bytes, key_type: str, faults: CardFaults) -> bool:
    """True if the card accepted the key; False only if it refused it twice.

    A card leaving the field in the middle of an authentication looks exactly like a refused key
    (the driver raises its wrong-key error for both). Asking once more tells them apart: a card
    that left makes the session's re-select fail with a plain I/O error, which propagates.
    """
    for _ in range(2):
        try:
            session.authenticate(block, key, key_type)
        except faults.wrong_key:
            continue
        return True
    return False


def open_for_write(session: TagSession, sector: int, keys: SectorKeys, faults: CardFaults) -> SectorKeying:
    """Authenticate `sector` so its blocks and trailer can be written: transport key A, else key B."""
    trailer = layout.trailer_block(sector)
    if try_authenticate(session, trailer, TRANSPORT_KEY, "A", faults):
        return SectorKeying.TRANSPORT
    if try_authenticate(session, trailer, keys.key_b, "B", faults):
        return SectorKeying.DIVERSIFIED
    raise CardKeysUnknown(f"sector {sector} accepts neither the transport key nor this card's key B")


def read_copy(session: TagSession, sector: int) -> bytes:
    """The three data blocks of `sector` (already authenticated) as one 48-byte copy."""
    return b"".join(bytes(session.read_block(b)) for b in layout.data_blocks(sector))


def write_copy(session: TagSession, sector: int, data: bytes) -> None:
    """Write 48 bytes over the three data blocks of `sector` (already authenticated for write)."""
    if len(data) != len(ZERO_COPY):
        raise ValueError("a copy is 48 bytes")
    for index, block in enumerate(layout.data_blocks(sector)):
        session.write_block(block, data[index * layout.BLOCK_BYTES : (index + 1) * layout.BLOCK_BYTES])
