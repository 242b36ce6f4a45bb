"""Staff tool: return a card to transport state (keys FF..FF, access bits FF 07 80, no record).

Both record copies are zeroed first, so a card pulled half way is already no member card;
then every sector gets the transport trailer back. Running it again finishes a half-wiped card.
Wiping does not touch the ledger: deny-list or re-register the UID separately.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk.cards import layout
from kiosk.cards.cardio import TRANSPORT_TRAILER, ZERO_COPY, SectorKeying, open_for_write, write_copy
from kiosk.cards.errors import CardFaults, UnsupportedCard
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.keys import sector_keys
from kiosk.cards.ports import TagSession
from kiosk.cards.redact import redact_uid

_LOG = logging.getLogger(__name__)

_ORDER = layout.RECORD_SECTORS + tuple(s for s in layout.KEYED_SECTORS if s not in layout.RECORD_SECTORS)


@dataclass(frozen=True)
class WipeReport:
    uid: bytes
    sectors_reset: int  # sectors that were on diversified keys
    already_transport: int


def wipe(session: TagSession, keys: MasterKeys, faults: CardFaults) -> WipeReport:
    uid = bytes(session.uid)
    if session.card_type != layout.CARD_TYPE or len(uid) not in (4, 7):
        raise UnsupportedCard(f"cannot wipe a {session.card_type}")
    reset = transport = 0
    for sector in _ORDER:
        keying = open_for_write(session, sector, sector_keys(keys, uid, sector), faults)
        if sector in layout.RECORD_SECTORS:
            write_copy(session, sector, ZERO_COPY)
        if keying is SectorKeying.DIVERSIFIED:
            session.write_block(layout.trailer_block(sector), TRANSPORT_TRAILER)
            reset += 1
        else:
            transport += 1
    _LOG.info("wiped card %s (%d sectors reset)", redact_uid(uid), reset)
    return WipeReport(uid, reset, transport)
