"""NTAG213/215/216 and MIFARE Ultralight (7-byte UIDs, cascade level 2) on every transport."""

from __future__ import annotations

import pytest

from drivers.emulator import Ntag213, Ntag215, Ntag216, Ultralight
from drivers.errors import NakError
from drivers.session import USER_MEMORY_BYTES, open_session

UID7 = bytes.fromhex("04112233445566")


def test_ntag213_is_selected_through_two_cascade_levels(rig):
    rig.field.present(Ntag213(UID7))
    session = open_session(rig.driver)
    assert (session.uid, session.card_type) == (UID7, "ntag213")


def test_ultralight_is_told_apart_by_its_silence_to_get_version(rig):
    rig.field.present(Ultralight(UID7))
    session = open_session(rig.driver)
    assert session.card_type == "ultralight"
    assert session.read_pages(0)[:3] == UID7[:3]  # re-selected after GET_VERSION knocked it idle


def test_read_pages_returns_four_pages(rig):
    tag = Ntag213(UID7)
    tag.set_page(4, b"MEMB")
    tag.set_page(5, b"ER42")
    rig.field.present(tag)
    session = open_session(rig.driver)
    assert session.read_pages(4)[:8] == b"MEMBER42"
    assert session.read_pages(3)[:4] == b"\xe1\x10\x12\x00"


def test_read_rolls_over_at_the_end_of_memory(rig):
    tag = Ntag213(UID7)
    rig.field.present(tag)
    session = open_session(rig.driver)
    assert session.read_pages(44)[4:8] == tag.page(0)


def test_page_write_lands_on_the_tag(rig):
    tag = Ntag213(UID7)
    rig.field.present(tag)
    session = open_session(rig.driver)
    session.write_page(6, b"\x01\x02\x03\x04")
    assert tag.page(6) == b"\x01\x02\x03\x04"


def test_uid_pages_are_read_only(rig):
    tag = Ntag213(UID7)
    rig.field.present(tag)
    session = open_session(rig.driver)
    with pytest.raises(NakError):
        session.write_page(0, b"\x00\x00\x00\x00")
    assert tag.page(0)[:3] == UID7[:3]


def test_reading_past_the_last_page_is_refused(rig):
    rig.field.present(Ntag213(UID7))
    session = open_session(rig.driver)
    with pytest.raises(NakError):
        session.read_pages(45)


@pytest.mark.parametrize(
    ("cls", "card_type", "user_bytes", "size_byte", "cc_size"),
    [
        (Ntag213, "ntag213", 144, 0x0F, 0x12),
        (Ntag215, "ntag215", 504, 0x11, 0x3E),
        (Ntag216, "ntag216", 888, 0x13, 0x6D),
    ],
)
def test_each_ntag21x_is_told_apart_by_its_get_version_storage_size(
    rig, cls, card_type, user_bytes, size_byte, cc_size
):
    tag = cls(UID7)
    rig.field.present(tag)
    session = open_session(rig.driver)
    assert session.card_type == card_type
    assert len(tag.USER_PAGES) * 4 == USER_MEMORY_BYTES[card_type] == user_bytes
    assert rig.driver.get_version() == bytes.fromhex("0004040201") + bytes((0x00, size_byte, 0x03))
    assert tag.page(3)[2] == cc_size  # factory capability container: the NDEF area / 8


@pytest.mark.parametrize("cls", [Ntag215, Ntag216])
def test_the_last_user_page_of_a_larger_ntag_is_written_and_read_back(rig, cls):
    tag = cls(UID7)
    rig.field.present(tag)
    session = open_session(rig.driver)
    last = tag.USER_PAGES[-1]
    session.write_page(last, b"LAST")
    assert session.read_pages(last)[:4] == b"LAST" == tag.page(last)
