"""Diversified sector keys: per card, per sector, per key type; never a public default key."""

import pytest

from kiosk.cards.keys import SECTORS, TRANSPORT_KEY, is_forbidden_key, sector_keys
from tests.cards.default_keys import PUBLIC_DEFAULT_KEYS

UID = bytes.fromhex("A1B2C3D4")


def test_keys_are_stable_for_the_same_master_uid_and_sector(keys):
    assert sector_keys(keys, UID, 5) == sector_keys(keys, UID, 5)


def test_key_a_and_key_b_differ_and_are_six_bytes(keys):
    k = sector_keys(keys, UID, 1)
    assert len(k.key_a) == len(k.key_b) == 6
    assert k.key_a != k.key_b


def test_another_uid_gets_other_keys(keys):
    assert sector_keys(keys, UID, 1).key_a != sector_keys(keys, bytes.fromhex("A1B2C3D5"), 1).key_a


def test_another_master_gets_other_keys(keys, other_keys):
    assert sector_keys(keys, UID, 1).key_b != sector_keys(other_keys, UID, 1).key_b


def test_a_four_byte_uid_is_not_a_prefix_of_a_seven_byte_uid(keys):
    assert sector_keys(keys, UID, 1) != sector_keys(keys, UID + b"\0\0\0", 1)


def test_transport_and_public_keys_are_forbidden():
    assert is_forbidden_key(TRANSPORT_KEY)
    assert is_forbidden_key(bytes.fromhex("A0A1A2A3A4A5"))
    assert is_forbidden_key(bytes(6))
    assert not is_forbidden_key(bytes.fromhex("3C91A0F27B5E"))


def test_repr_never_shows_key_bytes(keys):
    k = sector_keys(keys, UID, 1)
    assert k.key_a.hex() not in repr(k).lower() and k.key_b.hex() not in repr(k).lower()
    assert "redacted" in repr(keys)


@pytest.mark.parametrize("bad_uid", [b"", b"\x01\x02\x03", bytes(5)])
def test_odd_uid_lengths_are_refused(keys, bad_uid):
    with pytest.raises(ValueError):
        sector_keys(keys, bad_uid, 1)


def test_sector_out_of_range_is_refused(keys):
    with pytest.raises(ValueError):
        sector_keys(keys, UID, SECTORS)


def test_none_of_the_keys_of_a_card_is_a_public_default(keys):
    for sector in range(SECTORS):
        k = sector_keys(keys, UID, sector)
        assert k.key_a not in PUBLIC_DEFAULT_KEYS and k.key_b not in PUBLIC_DEFAULT_KEYS
