"""Access bits follow the MF1S50 datasheet encoding and refuse inconsistent bytes."""

import itertools

import pytest

from kiosk.cards import access
from kiosk.cards.errors import AccessBitsError

CONDITIONS = list(itertools.product((0, 1), repeat=3))


def test_transport_conditions_encode_to_the_factory_bytes():
    assert access.encode(access.TRANSPORT) == bytes.fromhex("FF078069")


def test_member_conditions_read_a_write_b_keys_by_b():
    # data 100 (read A|B, write B), trailer 011 (keys and access bits writable with key B only)
    assert access.encode(access.MEMBER)[:3] == bytes.fromhex("787788")


def test_every_combination_round_trips():
    for blocks in itertools.product(CONDITIONS, repeat=4):
        conditions = access.AccessConditions(blocks, gpb=0x42)
        assert access.decode(access.encode(conditions)) == conditions


@pytest.mark.parametrize("byte_index", [0, 1, 2])
@pytest.mark.parametrize("bit", range(8))
def test_any_single_flipped_bit_is_detected(byte_index, bit):
    raw = bytearray(access.encode(access.MEMBER))
    raw[byte_index] ^= 1 << bit
    with pytest.raises(AccessBitsError):
        access.decode(bytes(raw))


def test_encode_refuses_a_condition_that_is_not_three_bits():
    with pytest.raises(AccessBitsError):
        access.encode(access.AccessConditions(((0, 0, 2),) * 4))


def test_trailer_is_key_a_access_bits_key_b():
    key_a, key_b = bytes.fromhex("112233445566"), bytes.fromhex("A1B2C3D4E5F6")
    block = access.trailer(key_a, access.MEMBER, key_b)
    assert block == key_a + bytes.fromhex("78778869") + key_b
