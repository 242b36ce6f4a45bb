"""Staff tool: turn a blank card (transport keys) into a member card.

Order matters for cards pulled half way: the record sectors come first, each written in full
(copy 0 = the record with counter 0, copy 1 = zeros) before its trailer swaps the transport key
for the card's diversified keys; then the remaining sectors are keyed. Running `personalize`
again on a half-done card for the same member and issue number finishes the job; a card that
already belongs to someone else is refused (wipe it first).
"""

from __future__ import annotations

import logging

from kiosk.cards import access, layout
from kiosk.cards.cardio import ZERO_COPY, SectorKeying, open_for_write, read_copy, write_copy
from kiosk.cards.errors import CardFaults, CardNotBlank, CardWriteVerifyFailed, UnsupportedCard
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.keys import sector_keys
from kiosk.cards.ports import TagSession
from kiosk.cards.reading import read_card
from kiosk.cards.record import CardRecord, CopyStatus, check_copy, encode_record
from kiosk.cards.redact import redact_uid

_LOG = logging.getLogger(__name__)

# Record sectors first, then the rest.
_ORDER = layout.RECORD_SECTORS + tuple(s for s in layout.KEYED_SECTORS if s not in layout.RECORD_SECTORS)


def personalize(session: TagSession, keys: MasterKeys, member_id: str, issue_no: int, faults: CardFaults) -> CardRecord:
    """Write the member record (counter 0) and key every sector; return the record as read back."""
    uid = bytes(session.uid)
    if session.card_type != layout.CARD_TYPE or len(uid) not in (4, 7):
        raise UnsupportedCard(f"cannot personalize a {session.card_type} with a {len(uid)}-byte UID")
    record = CardRecord(uid, member_id, issue_no, 0, keys.key_id)
    images = {
        layout.copy_sector(0): encode_record(record, layout.copy_sector(0), keys),
        layout.copy_sector(1): ZERO_COPY,
    }
    for sector in _ORDER:
        sk = sector_keys(keys, uid, sector)
        keying = open_for_write(session, sector, sk, faults)
        if sector in images:
            if keying is SectorKeying.DIVERSIFIED:
                _refuse_if_someone_elses(session, keys, uid, sector, record)
            write_copy(session, sector, images[sector])
        if keying is SectorKeying.TRANSPORT:
            session.write_block(layout.trailer_block(sector), access.trailer(sk.key_a, access.MEMBER, sk.key_b))
    best = read_card(session, keys, faults).best()
    if best is None or best[1] != record:
        raise CardWriteVerifyFailed("the personalized card does not read back its record")
    _LOG.info("personalized card %s for member %s issue %d", redact_uid(uid), member_id, issue_no)
    return record


def _refuse_if_someone_elses(
    session: TagSession, keys: MasterKeys, uid: bytes, sector: int, record: CardRecord
) -> None:
    """A sector already on our keys is only rewritten if it holds nothing, or this very record."""
    check = check_copy(read_copy(session, sector), uid, sector, keys)
    if check.status is CopyStatus.VALID and check.record != record:
        raise CardNotBlank("card is already personalized for a member or has been used; wipe it first")
