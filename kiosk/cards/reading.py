"""Read both record copies of a presented card and classify them; card I/O only, no decisions.

Everything that touches the card happens here, before any ledger side effect, so the reader
service may retry a read that a departing card cut short without recording anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.cards import layout
from kiosk.cards.cardio import SectorKeying, read_copy, try_authenticate
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.keys import TRANSPORT_KEY, sector_keys
from kiosk.cards.ports import TagSession
from kiosk.cards.record import CardRecord, CopyCheck, CopyStatus, check_copy


@dataclass(frozen=True)
class CopyReading:
    """One record copy: which keys opened its sector, and what its bytes are (None: unreadable)."""

    copy: int
    sector: int
    keying: SectorKeying
    check: CopyCheck | None


@dataclass(frozen=True)
class CardReading:
    uid: bytes
    card_type: str
    unsupported_reason: str | None  # set when the tag cannot carry a member record at all
    copies: tuple[CopyReading, ...]

    def genuine_copies(self) -> tuple[CopyReading, ...]:
        """Valid copies read with this card's own diversified key A: the only ones we trust."""
        return tuple(
            c
            for c in self.copies
            if c.keying is SectorKeying.DIVERSIFIED and c.check is not None and c.check.status is CopyStatus.VALID
        )

    def best(self) -> tuple[CopyReading, CardRecord] | None:
        """The trusted copy with the highest counter (the other is older or torn)."""
        # A VALID check always carries its record; the test only narrows the types.
        trusted = [
            (c, c.check.record) for c in self.genuine_copies() if c.check is not None and c.check.record is not None
        ]
        if not trusted:
            return None
        return max(trusted, key=lambda pair: pair[1].counter)


def read_card(session: TagSession, keys: MasterKeys, faults: CardFaults) -> CardReading:
    """Authenticate and read both record copies; probe the transport key where ours is refused."""
    uid, card_type = bytes(session.uid), session.card_type
    if card_type != layout.CARD_TYPE:
        return CardReading(uid, card_type, "not_mifare_classic_1k", ())
    if len(uid) not in (4, 7):
        return CardReading(uid, card_type, "uid_length", ())
    copies = tuple(
        _read_one(session, keys, uid, copy, sector, faults) for copy, sector in enumerate(layout.RECORD_SECTORS)
    )
    return CardReading(uid, card_type, None, copies)


def _read_one(
    session: TagSession, keys: MasterKeys, uid: bytes, copy: int, sector: int, faults: CardFaults
) -> CopyReading:
    trailer = layout.trailer_block(sector)
    if try_authenticate(session, trailer, sector_keys(keys, uid, sector).key_a, "A", faults):
        data = read_copy(session, sector)
        return CopyReading(copy, sector, SectorKeying.DIVERSIFIED, check_copy(data, uid, sector, keys))
    # Not this card's keys. A record behind the public transport key is a forgery or a copy onto
    # another card, which we want to name as such rather than call the card "foreign". (The
    # session re-selects the card after the refused key by itself.)
    if try_authenticate(session, trailer, TRANSPORT_KEY, "A", faults):
        data = read_copy(session, sector)
        return CopyReading(copy, sector, SectorKeying.TRANSPORT, check_copy(data, uid, sector, keys))
    return CopyReading(copy, sector, SectorKeying.UNKNOWN, None)
