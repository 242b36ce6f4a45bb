"""Verification on every tap, against emulated cards and the real ledger."""

import pytest

from drivers.emulator.cards import MifareClassic1K, Ntag213
from kiosk.cards import layout
from kiosk.cards.personalize import personalize
from kiosk.cards.verify import Blocked, NotAMemberCard, Rejected, Verified, verify_tap

UID1 = bytes.fromhex("DE700001")  # demo card of member M0001, issue 1
LOST = bytes.fromhex("DE700005")  # demo card reported lost


def security_events(ledger, kind=None):
    events = [e for e in ledger.outbox_pending(1000) if e.type.startswith("security.")]
    return [e for e in events if kind is None or e.type == f"security.{kind}"]


@pytest.fixture
def member_card(keys, tap, faults):
    card = MifareClassic1K(UID1)
    personalize(tap(card), keys, "M0001", 1, faults)
    return card


def test_personalized_card_verifies(member_card, keys, ledger, tap, faults):
    verdict = verify_tap(tap(member_card), keys, ledger, faults)
    assert verdict == Verified(UID1, "M0001", 1, 0, copy=0, known=True)
    assert security_events(ledger) == []


def test_blank_card_is_not_a_member_card(keys, ledger, tap, faults):
    verdict = verify_tap(tap(MifareClassic1K(bytes.fromhex("11223344"))), keys, ledger, faults)
    assert verdict == NotAMemberCard("no_record")


def test_ntag_sticker_is_not_a_member_card(keys, ledger, tap, faults):
    verdict = verify_tap(tap(Ntag213(bytes.fromhex("04112233445566"))), keys, ledger, faults)
    assert verdict == NotAMemberCard("not_mifare_classic_1k")


def test_card_of_another_fleet_is_not_a_member_card(keys, other_keys, ledger, tap, faults):
    card = MifareClassic1K(bytes.fromhex("11223344"))
    personalize(tap(card), other_keys, "M0001", 1, faults)
    assert verify_tap(tap(card), keys, ledger, faults) == NotAMemberCard("unknown_keys")


@pytest.mark.parametrize("bit", range(0, 48 * 8, 7))  # a spread of bits over the whole copy
def test_flipping_a_record_bit_gets_the_card_rejected_and_reported(member_card, keys, ledger, tap, faults, bit):
    block = layout.data_blocks(1)[bit // 128]
    data = bytearray(member_card.block(block))
    data[(bit % 128) // 8] ^= 1 << (bit % 8)
    member_card.set_block(block, bytes(data))
    verdict = verify_tap(tap(member_card), keys, ledger, faults)
    assert isinstance(verdict, (Rejected, NotAMemberCard)), verdict
    if bit >= 16:  # past the magic: recognisably ours, so a tampered record, reported to HQ
        assert isinstance(verdict, Rejected)
        assert len(security_events(ledger, "card_rejected")) == 1


def test_record_copied_to_a_card_with_another_uid_is_rejected(member_card, keys, ledger, tap, faults):
    other = MifareClassic1K(bytes.fromhex("11223344"))
    for block in layout.data_blocks(1) + layout.data_blocks(2):
        other.set_block(block, member_card.block(block))
    verdict = verify_tap(tap(other), keys, ledger, faults)
    assert verdict == Rejected("uid_mismatch")
    [event] = security_events(ledger, "card_rejected")
    assert event.payload["uid"] == "11223344"


def test_whole_sectors_copied_to_another_uid_are_not_accepted(member_card, keys, ledger, tap, faults):
    # Trailers too (keys recovered from the original): our keys for the new UID do not open it.
    other = MifareClassic1K(bytes.fromhex("11223344"))
    for block in range(4, 12):
        raw = member_card.block(block)
        other.set_block(block, raw)
    verdict = verify_tap(tap(other), keys, ledger, faults)
    assert isinstance(verdict, NotAMemberCard)


def test_genuine_record_on_a_magic_card_with_transport_keys_is_rejected(member_card, keys, ledger, tap, faults):
    clone = MifareClassic1K.magic(UID1)
    for block in layout.data_blocks(1) + layout.data_blocks(2):
        clone.set_block(block, member_card.block(block))
    assert verify_tap(tap(clone), keys, ledger, faults) == Rejected("transport_keys")


def test_lost_card_is_blocked_offline_without_reading_it(keys, ledger, tap, faults):
    card = MifareClassic1K(LOST)
    personalize(tap(card), keys, "M0005", 1, faults)
    session = tap(card)
    frames_before = card.frames_received
    verdict = verify_tap(session, keys, ledger, faults)
    assert verdict == Blocked("lost")
    assert card.frames_received == frames_before  # nothing read: no data shown
    [event] = security_events(ledger, "blocked_card_presented")
    assert event.payload["detail"] == {"reason": "lost"}


def test_card_on_hq_deny_list_is_blocked(member_card, keys, ledger, tap, faults):
    import datetime as dt

    ledger.apply_denylist_full(
        1, [{"uid": UID1.hex(), "reason": "blocked"}], ledger.clock.now() - dt.timedelta(hours=1)
    )
    assert verify_tap(tap(member_card), keys, ledger, faults) == Blocked("blocked")


def test_card_registered_to_another_member_is_rejected(keys, ledger, tap, faults):
    card = MifareClassic1K(UID1)  # the ledger says this UID is M0001's
    personalize(tap(card), keys, "M0002", 1, faults)
    assert verify_tap(tap(card), keys, ledger, faults) == Rejected("registry_mismatch")


def test_older_issue_of_the_card_is_rejected(keys, ledger, tap, faults):
    card = MifareClassic1K(bytes.fromhex("DE700006"))  # M0005's replacement card is issue 2
    personalize(tap(card), keys, "M0005", 1, faults)
    assert verify_tap(tap(card), keys, ledger, faults) == Rejected("registry_mismatch")


def test_genuine_card_unknown_to_this_kiosk_verifies_as_unknown(keys, ledger, tap, faults):
    card = MifareClassic1K(bytes.fromhex("0A0B0C0D"))
    personalize(tap(card), keys, "M0003", 1, faults)
    verdict = verify_tap(tap(card), keys, ledger, faults)
    assert isinstance(verdict, Verified) and not verdict.known and verdict.member_id == "M0003"
