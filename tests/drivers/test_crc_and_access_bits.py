"""CRC_A and the MIFARE Classic access-bit encoding (MF1S50 section 8.7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.crc import check_crc, with_crc
from drivers.emulator.cards import access


def test_crc_a_matches_the_iso14443_hlta_example():
    assert with_crc(b"\x50\x00") == bytes.fromhex("500057cd")


def test_crc_a_of_select_frame_is_checked():
    frame = with_crc(bytes.fromhex("9370a1b2c3d4") + bytes((0xA1 ^ 0xB2 ^ 0xC3 ^ 0xD4,)))
    assert check_crc(frame)
    assert not check_crc(frame[:-1] + bytes((frame[-1] ^ 1,)))


def test_crc_of_short_input_is_never_valid():
    assert not check_crc(b"\x00\x00")


def test_transport_access_bits_decode_to_factory_conditions():
    assert access.decode(bytes.fromhex("ff0780")) == ((0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 1))


bits = st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1))


@given(st.tuples(bits, bits, bits, bits))
def test_access_bits_round_trip(conditions):
    assert access.decode(access.encode(conditions)) == conditions


def test_inconsistent_access_bits_are_rejected():
    assert access.decode(bytes.fromhex("ff0781")) is None


@pytest.mark.parametrize(
    "trailer_bits, readable",
    [
        ((0, 0, 0), True),
        ((0, 1, 0), True),
        ((0, 0, 1), True),
        ((0, 1, 1), False),
        ((1, 0, 0), False),
        ((1, 1, 1), False),
    ],
)
def test_key_b_is_readable_only_in_the_datasheet_cases(trailer_bits, readable):
    assert access.key_b_readable(trailer_bits) is readable
