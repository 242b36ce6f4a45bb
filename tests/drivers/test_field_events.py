"""Physical events in the field, on every transport: removal and tearing, collisions, damaged
frames, chip hangs and odd chips. The driver must report each as the right ReaderError."""

from __future__ import annotations

import pytest

from drivers.emulator import MifareClassic1K, Ntag213
from drivers.errors import BusFault, CardTimeout, CollisionError, FrameError, ReaderError
from drivers.session import open_session
from tests.drivers.rigs import make_rig

UID = bytes.fromhex("a1b2c3d4")
FF = b"\xff" * 6
OLD, NEW = b"o" * 16, b"n" * 16


def _authenticated(rig, card):
    session = open_session(rig.driver)
    session.authenticate(4, FF)
    return session


def _frames_of_a_write(rig) -> int:
    card = MifareClassic1K(UID)
    rig.field.present(card)
    session = _authenticated(rig, card)
    before = card.frames_received
    session.write_block(5, NEW)
    rig.field.remove(card)
    return card.frames_received - before


def test_removed_card_is_card_timeout(rig):
    card = MifareClassic1K(UID)
    rig.field.present(card)
    session = _authenticated(rig, card)
    rig.field.remove(card)
    with pytest.raises(CardTimeout):
        session.read_block(4)


def test_a_write_torn_at_every_frame_leaves_old_or_new_data_and_says_so(rig):
    frames = _frames_of_a_write(rig)
    assert frames == 2  # WRITE command, then the 16 data bytes
    for k in range(frames + 1):
        card = MifareClassic1K(UID)
        card.set_block(5, OLD)
        rig.field.present(card)
        session = _authenticated(rig, card)
        rig.field.remove_after_frames(card, k)
        if k < frames:
            with pytest.raises(CardTimeout):
                session.write_block(5, NEW)
            assert card.block(5) == OLD, f"torn after {k} frames"
        else:
            session.write_block(5, NEW)
            assert card.block(5) == NEW
        if card in rig.field.cards:
            rig.field.remove(card)


def test_a_write_whose_ack_is_lost_is_stored_but_reported_as_timeout(rig):
    card = MifareClassic1K(UID)
    card.set_block(5, OLD)
    rig.field.present(card)
    session = _authenticated(rig, card)
    rig.field.remove_after_frames(card, 2, answer_last=False)
    with pytest.raises(CardTimeout):
        session.write_block(5, NEW)
    assert card.block(5) == NEW


def test_removal_in_the_middle_of_a_multi_block_read_never_returns_partial_data(rig):
    for k in range(4):
        card = MifareClassic1K(UID)
        rig.field.present(card)
        session = _authenticated(rig, card)
        rig.field.remove_after_frames(card, k)
        blocks = []
        with pytest.raises(CardTimeout):
            for block in (4, 5, 6, 7):
                blocks.append(session.read_block(block))
        assert len(blocks) == k


def test_removal_during_authentication_is_a_reader_error(rig):
    for k in range(2):
        card = MifareClassic1K(UID)
        rig.field.present(card)
        session = open_session(rig.driver)
        rig.field.remove_after_frames(card, k)
        with pytest.raises(ReaderError):
            session.authenticate(4, FF)
        assert card not in rig.field.cards


@pytest.mark.parametrize(
    "second",
    [MifareClassic1K(bytes.fromhex("11223344")), Ntag213(bytes.fromhex("04998877665544"))],
    ids=["two-classic", "classic-and-ntag"],
)
def test_two_cards_at_once_is_a_collision(rig, second):
    rig.field.present(MifareClassic1K(UID))
    rig.field.present(second)
    with pytest.raises(CollisionError):
        open_session(rig.driver)


def test_after_a_collision_the_remaining_card_reads_normally(rig):
    first, second = MifareClassic1K(UID), MifareClassic1K(bytes.fromhex("11223344"))
    rig.field.present(first)
    rig.field.present(second)
    with pytest.raises(CollisionError):
        open_session(rig.driver)
    rig.field.remove(second)
    assert open_session(rig.driver).uid == UID


def test_a_damaged_block_is_a_frame_error_and_the_retry_is_clean(rig):
    card = MifareClassic1K(UID)
    card.set_block(4, NEW)
    rig.field.present(card)
    session = _authenticated(rig, card)
    rig.field.corrupt_next_frames(1)
    with pytest.raises(FrameError):
        session.read_block(4)
    session.authenticate(4, FF)
    assert session.read_block(4) == NEW


def test_a_parity_error_is_a_frame_error(rig):
    card = MifareClassic1K(UID)
    rig.field.present(card)
    session = _authenticated(rig, card)
    rig.field.corrupt_next_frames(1, kind="parity")
    with pytest.raises(FrameError):
        session.read_block(4)


def test_a_damaged_uid_fails_its_check_byte(rig):
    rig.field.present(MifareClassic1K(UID))
    rig.driver.request(wake=True)
    rig.field.corrupt_next_frames(1)
    with pytest.raises(FrameError):
        rig.driver._anticollision(0)


def test_a_hung_chip_is_a_bus_fault_and_soft_reset_recovers(rig):
    rig.field.present(MifareClassic1K(UID))
    rig.chip.hang("rf")
    with pytest.raises(BusFault):
        rig.driver.activate()
    rig.driver.init()
    assert open_session(rig.driver).uid == UID


def test_a_dead_bus_needs_the_reset_pin(rig):
    rig.field.present(MifareClassic1K(UID))
    rig.chip.hang("bus")
    with pytest.raises(BusFault):
        rig.driver.init()
    rig.driver.hard_reset()
    assert open_session(rig.driver).uid == UID


@pytest.mark.parametrize("version", [0x91, 0x92, 0x88, 0x12])
def test_every_known_chip_version_initialises(version):
    rig = make_rig("emulator", version=version, init=False)
    assert rig.driver.init() == version


@pytest.mark.parametrize("version", [0x00, 0xFF])
def test_a_dead_bus_version_fails_initialisation(version):
    rig = make_rig("emulator", version=version, init=False)
    with pytest.raises(BusFault):
        rig.driver.init()
