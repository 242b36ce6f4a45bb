"""Staff tools on emulated cards: personalize a blank card, wipe it back, survive pulls half way."""

import pytest

from drivers.emulator.cards import MifareClassic1K, Ntag213
from drivers.errors import ReaderError
from kiosk.cards import access, layout
from kiosk.cards.cardio import TRANSPORT_TRAILER
from kiosk.cards.errors import CardNotBlank, UnsupportedCard
from kiosk.cards.inspect import inspect_card
from kiosk.cards.keys import TRANSPORT_KEY
from kiosk.cards.personalize import personalize
from kiosk.cards.reading import read_card
from kiosk.cards.record import CardRecord
from kiosk.cards.verify import NotAMemberCard, Rejected, Verified, judge
from kiosk.cards.wipe import wipe

UID = bytes.fromhex("A1B2C3D4")


def test_personalized_card_has_member_access_bits_and_no_transport_key(keys, tap, faults):
    card = MifareClassic1K(UID)
    record = personalize(tap(card), keys, "M0001", 1, faults)
    assert record == CardRecord(UID, "M0001", 1, 0, keys.key_id)
    for sector in layout.KEYED_SECTORS:
        trailer = card.block(layout.trailer_block(sector))
        assert trailer[6:10] == access.encode(access.MEMBER)
        assert TRANSPORT_KEY not in (trailer[0:6], trailer[10:16])


def test_key_a_reads_the_record_but_cannot_write_it(keys, tap, faults):
    from kiosk.cards.keys import sector_keys

    card = MifareClassic1K(UID)
    personalize(tap(card), keys, "M0001", 1, faults)
    session = tap(card)
    session.authenticate(layout.trailer_block(1), sector_keys(keys, UID, 1).key_a, "A")
    assert session.read_block(4)[:2] == b"KC"
    with pytest.raises(ReaderError):
        session.write_block(4, bytes(16))
    assert card.block(4)[:2] == b"KC"


def test_a_personalized_card_is_not_personalized_again_for_someone_else(keys, tap, faults):
    card = MifareClassic1K(UID)
    personalize(tap(card), keys, "M0001", 1, faults)
    with pytest.raises(CardNotBlank):
        personalize(tap(card), keys, "M0002", 1, faults)
    assert read_card(tap(card), keys, faults).best()[1].member_id == "M0001"


def test_ntag_cannot_be_personalized(keys, tap, faults):
    with pytest.raises(UnsupportedCard):
        personalize(tap(Ntag213(bytes.fromhex("04112233445566"))), keys, "M0001", 1, faults)


def test_wipe_returns_the_card_to_transport_state(keys, tap, faults):
    card = MifareClassic1K(UID)
    blank = [card.block(n) for n in range(64)]
    personalize(tap(card), keys, "M0001", 1, faults)
    report = wipe(tap(card), keys, faults)
    assert report.sectors_reset == 16
    assert [card.block(n) for n in range(64)] == blank
    assert judge(read_card(tap(card), keys, faults), None) == NotAMemberCard("no_record")
    personalize(tap(card), keys, "M0002", 1, faults)  # and it can be issued again


def test_card_pulled_at_any_point_of_personalization_can_be_finished(keys, tap, faults):
    n = 0
    while True:
        card = MifareClassic1K(UID)
        try:
            personalize(tap(card, pull_after=n), keys, "M0001", 1, faults)
            break
        except ReaderError:
            pass
        # Half personalized: never accepted as a member card in between...
        verdict = judge(read_card(tap(card), keys, faults), None)
        assert isinstance(verdict, (NotAMemberCard, Rejected, Verified))
        if isinstance(verdict, Verified):
            assert verdict.member_id == "M0001" and verdict.counter == 0
        # ...and running it again finishes the job.
        personalize(tap(card), keys, "M0001", 1, faults)
        assert isinstance(judge(read_card(tap(card), keys, faults), None), Verified)
        n += 1
    assert n > 30


def test_card_pulled_at_any_point_of_a_wipe_can_be_wiped_again(keys, tap, faults):
    n = 0
    while True:
        card = MifareClassic1K(UID)
        personalize(tap(card), keys, "M0001", 1, faults)
        record_blocks = [card.block(b) for b in layout.data_blocks(1)]
        try:
            wipe(tap(card, pull_after=n), keys, faults)
            break
        except ReaderError:
            pass
        verdict = judge(read_card(tap(card), keys, faults), None)
        if [card.block(b) for b in layout.data_blocks(1)] != record_blocks:
            # The record is the first thing a wipe destroys: from then on, no member card.
            assert not isinstance(verdict, Verified)
        else:
            assert verdict == Verified(UID, "M0001", 1, 0, 0, known=False)
        wipe(tap(card), keys, faults)
        assert all(card.block(layout.trailer_block(s)) == TRANSPORT_TRAILER for s in layout.KEYED_SECTORS)
        n += 1
    assert n > 30


def test_inspect_explains_a_tampered_copy_without_reporting_it(keys, ledger, tap, faults):
    card = MifareClassic1K(bytes.fromhex("DE700001"))
    personalize(tap(card), keys, "M0001", 1, faults)
    data = bytearray(card.block(5))
    data[0] ^= 1
    card.set_block(5, bytes(data))
    report = inspect_card(tap(card), keys, faults, ledger)
    text = "\n".join(report.lines())
    assert "copy 0 (sector 1): bad_mac" in text and "verdict: Rejected" in text
    assert not [e for e in ledger.outbox_pending(1000) if e.type.startswith("security.")]
    assert keys.mac_key.hex() not in text


def test_a_7_byte_uid_classic_is_personalized_and_verifies_with_its_full_uid(keys, tap, faults):
    uid7 = bytes.fromhex("04A1B2C3D4E5F6")
    card = MifareClassic1K(uid7)
    record = personalize(tap(card), keys, "M0007", 1, faults)
    assert record.uid == uid7
    verdict = judge(read_card(tap(card), keys, faults), None)
    assert isinstance(verdict, Verified) and verdict.member_id == "M0007"
    wipe(tap(card), keys, faults)
    assert judge(read_card(tap(card), keys, faults), None) == NotAMemberCard("no_record")
