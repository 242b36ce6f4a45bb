"""MIFARE Classic 1K through the real driver, on every transport (emulator, SPI framing, UART pty)."""

from __future__ import annotations

import pytest

from drivers.emulator import MifareClassic1K, trailer, value_block
from drivers.emulator.cards import access
from drivers.errors import AuthError, CardTimeout, NakError
from drivers.session import open_session

UID = bytes.fromhex("a1b2c3d4")
FF = b"\xff" * 6
KEY_A = bytes.fromhex("a0a1a2a3a4a5")
KEY_B = bytes.fromhex("b0b1b2b3b4b5")
# The card-security layout: data readable with A, writable with B; keys writable only with B.
READ_A_WRITE_B = access.encode(((1, 0, 0), (1, 0, 0), (1, 0, 0), (0, 1, 1)))


@pytest.fixture
def card(rig):
    card = MifareClassic1K(UID)
    rig.field.present(card)
    return card


def test_a_4_byte_uid_card_is_selected_and_identified(rig, card):
    session = open_session(rig.driver)
    assert (session.uid, session.card_type, session.sak) == (UID, "mifare_classic_1k", 0x08)


def test_empty_field_gives_no_session(rig):
    assert open_session(rig.driver) is None


def test_block_0_holds_uid_and_bcc(rig, card):
    session = open_session(rig.driver)
    session.authenticate(0, FF)
    block0 = session.read_block(0)
    assert block0[:5] == UID + bytes((UID[0] ^ UID[1] ^ UID[2] ^ UID[3],))


def test_written_block_reads_back_and_lands_on_the_card(rig, card):
    session = open_session(rig.driver)
    session.authenticate(4, FF)
    session.write_block(5, bytes(range(16)))
    assert session.read_block(5) == bytes(range(16))
    assert card.block(5) == bytes(range(16))


def test_trailer_read_hides_key_a(rig, card):
    session = open_session(rig.driver)
    session.authenticate(7, FF)
    assert session.read_block(7) == bytes(6) + bytes.fromhex("ff078069") + FF


def test_wrong_key_is_auth_error_and_the_right_key_then_works(rig, card):
    session = open_session(rig.driver)
    with pytest.raises(AuthError):
        session.authenticate(4, KEY_A)
    session.authenticate(4, FF)
    assert session.read_block(4) == bytes(16)


def test_reading_another_sector_than_authenticated_is_refused(rig, card):
    session = open_session(rig.driver)
    session.authenticate(4, FF)
    with pytest.raises(NakError):
        session.read_block(8)


def test_reading_without_authentication_is_refused(rig, card):
    session = open_session(rig.driver)
    with pytest.raises(NakError):
        session.read_block(4)


def test_nested_authentication_to_another_sector(rig, card):
    session = open_session(rig.driver)
    session.authenticate(4, FF)
    session.authenticate(8, FF)
    assert session.read_block(8) == bytes(16)


def test_manufacturer_block_is_read_only_on_a_genuine_card(rig, card):
    session = open_session(rig.driver)
    session.authenticate(0, FF)
    with pytest.raises(NakError):
        session.write_block(0, bytes(16))
    assert card.block(0)[:4] == UID


def test_magic_card_lets_block_0_be_written(rig):
    clone = MifareClassic1K.magic(bytes.fromhex("11223344"))
    rig.field.present(clone)
    session = open_session(rig.driver)
    session.authenticate(0, FF)
    forged = UID + bytes((UID[0] ^ UID[1] ^ UID[2] ^ UID[3],)) + bytes(11)
    session.write_block(0, forged)
    assert clone.block(0) == forged


class TestSecuredSector:
    """Sector 1 personalised: read with key A, write with key B, keys writable only with B."""

    @pytest.fixture
    def secured(self, rig, card):
        card.set_block(7, trailer(KEY_A, READ_A_WRITE_B, KEY_B))
        card.set_block(4, b"member-0001\x00\x00\x00\x00\x00")
        return card

    def test_key_a_reads(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(4, KEY_A, "A")
        assert session.read_block(4).startswith(b"member-0001")

    def test_key_a_cannot_write(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(4, KEY_A, "A")
        with pytest.raises(NakError):
            session.write_block(4, bytes(16))
        assert secured.block(4).startswith(b"member-0001")

    def test_key_b_writes(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(4, KEY_B, "B")
        session.write_block(4, b"member-0002" + bytes(5))
        assert secured.block(4).startswith(b"member-0002")

    def test_key_a_cannot_rewrite_the_trailer(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(7, KEY_A, "A")
        with pytest.raises(NakError):
            session.write_block(7, trailer(FF, access.TRANSPORT_ACCESS, FF))
        assert secured.block(7) == trailer(KEY_A, READ_A_WRITE_B, KEY_B)

    def test_key_b_rewrites_keys_and_access_bits(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(7, KEY_B, "B")
        new = trailer(FF, READ_A_WRITE_B, FF)
        session.write_block(7, new)
        assert secured.block(7) == new

    def test_default_key_no_longer_opens_the_sector(self, rig, secured):
        session = open_session(rig.driver)
        with pytest.raises(AuthError):
            session.authenticate(4, FF, "A")

    def test_key_b_is_hidden_when_reading_the_trailer(self, rig, secured):
        session = open_session(rig.driver)
        session.authenticate(7, KEY_A, "A")
        assert session.read_block(7)[10:16] == bytes(6)


def test_key_b_that_is_readable_cannot_be_used_as_a_key(rig, card):
    # Transport trailer (001) makes key B readable: authentication succeeds, access is refused.
    session = open_session(rig.driver)
    session.authenticate(4, FF, "B")
    with pytest.raises(NakError):
        session.read_block(4)


def test_inconsistent_access_bits_block_the_sector(rig, card):
    card.set_block(7, trailer(FF, bytes.fromhex("ff0781"), FF))
    session = open_session(rig.driver)
    session.authenticate(4, FF)
    with pytest.raises(NakError):
        session.read_block(4)


class TestValueBlocks:
    @pytest.fixture
    def purse(self, rig, card):
        card.set_block(5, value_block(100, 5))
        return card

    def test_increment_then_transfer(self, rig, purse):
        session = open_session(rig.driver)
        session.authenticate(4, FF)
        session.increment(5, 25)
        session.transfer(5)
        assert purse.block(5) == value_block(125, 5)

    def test_decrement_into_another_block(self, rig, purse):
        session = open_session(rig.driver)
        session.authenticate(4, FF)
        session.decrement(5, 30)
        session.transfer(6)
        assert purse.block(6) == value_block(70, 5)
        assert purse.block(5) == value_block(100, 5)

    def test_restore_copies_a_value_block(self, rig, purse):
        session = open_session(rig.driver)
        session.authenticate(4, FF)
        session.restore(5)
        session.transfer(4)
        assert purse.block(4) == value_block(100, 5)

    def test_increment_of_a_non_value_block_is_refused(self, rig, purse):
        session = open_session(rig.driver)
        session.authenticate(4, FF)
        with pytest.raises(NakError):
            session.increment(4, 1)

    def test_transfer_without_pending_value_is_refused(self, rig, purse):
        session = open_session(rig.driver)
        session.authenticate(4, FF)
        with pytest.raises(NakError):
            session.transfer(5)


def test_halted_card_ignores_reqa_but_answers_wupa(rig, card):
    session = open_session(rig.driver)
    session.halt()
    assert rig.driver.request(wake=False) is None
    assert rig.driver.request(wake=True) == b"\x04\x00"


def test_session_reselects_the_same_card_after_an_error(rig, card):
    session = open_session(rig.driver)
    with pytest.raises(NakError):
        session.read_block(4)  # not authenticated: card NAKs and drops to IDLE
    session.authenticate(4, FF)
    assert session.read_block(4) == bytes(16)


def test_reselecting_a_card_that_left_is_card_timeout(rig, card):
    session = open_session(rig.driver)
    session.halt()
    rig.field.remove(card)
    with pytest.raises(CardTimeout):
        session.reopen()


# --- 7-byte UID MIFARE Classic ------------------------------------------------------------------------
UID7 = bytes.fromhex("04a1b2c3d4e5f6")


def test_a_7_byte_uid_classic_is_selected_through_two_cascade_levels(rig):
    rig.field.present(MifareClassic1K(UID7))
    session = open_session(rig.driver)
    assert (session.uid, session.atqa, session.card_type, session.sak) == (UID7, b"\x44\x00", "mifare_classic_1k", 8)


def test_a_7_byte_uid_classic_authenticates_with_its_last_four_uid_bytes(rig):
    card = MifareClassic1K(UID7)
    card.set_block(4, b"seven byte uid!!")
    rig.field.present(card)
    session = open_session(rig.driver)
    session.authenticate(0, FF)
    assert session.read_block(0)[:10] == UID7 + b"\x08\x44\x00"  # block 0: UID, SAK, ATQA (no BCC)
    session.authenticate(4, FF)
    assert session.read_block(4) == b"seven byte uid!!"


def test_a_7_byte_uid_classic_refuses_authentication_with_its_first_four_uid_bytes(rig):
    rig.field.present(MifareClassic1K(UID7))
    info = rig.driver.activate()
    assert info is not None
    with pytest.raises(AuthError):
        rig.driver.authenticate(UID7[:4] + bytes(3), 4, FF)  # the driver sends uid[-4:]: the wrong four
