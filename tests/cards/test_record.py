"""The record codec: round trip, MAC over UID and every field, clear reasons for garbage."""

import pytest

from kiosk.cards.errors import RecordFormatError
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.record import (
    RECORD_BYTES,
    CardRecord,
    CopyStatus,
    check_copy,
    encode_record,
    parse_record,
)

UID = bytes.fromhex("04A1B2C3")
SECTOR = 1


def make(keys, **changes):
    fields = dict(uid=UID, member_id="M0001234", issue_no=1, counter=7, key_id=keys.key_id)
    fields.update(changes)
    return CardRecord(**fields)


def test_round_trip(keys):
    record = make(keys)
    data = encode_record(record, SECTOR, keys)
    assert len(data) == RECORD_BYTES
    check = check_copy(data, UID, SECTOR, keys)
    assert check.status is CopyStatus.VALID and check.record == record


def test_seven_byte_uid_and_sixteen_char_member_id(keys):
    uid7 = bytes.fromhex("04112233445566")
    record = make(keys, uid=uid7, member_id="6222000011112222", counter=0xFFFFFFFF, issue_no=65535)
    assert check_copy(encode_record(record, SECTOR, keys), uid7, SECTOR, keys).record == record


@pytest.mark.parametrize("bit", range(RECORD_BYTES * 8))
def test_every_single_bit_flip_is_rejected(keys, bit):
    data = bytearray(encode_record(make(keys), SECTOR, keys))
    data[bit // 8] ^= 1 << (bit % 8)
    check = check_copy(bytes(data), UID, SECTOR, keys)
    assert check.status is not CopyStatus.VALID and check.record is None


def test_record_on_another_uid_is_a_uid_mismatch(keys):
    data = encode_record(make(keys), SECTOR, keys)
    assert check_copy(data, bytes.fromhex("04A1B2C4"), SECTOR, keys).status is CopyStatus.UID_MISMATCH


def test_record_with_edited_uid_field_still_fails_on_the_mac(keys):
    # The attacker rewrites the UID field to match the new card: the MAC was made for the old UID.
    other = bytes.fromhex("04A1B2C4")
    data = bytearray(encode_record(make(keys), SECTOR, keys))
    data[5:9] = other
    assert check_copy(bytes(data), other, SECTOR, keys).status is CopyStatus.BAD_MAC


def test_record_moved_to_the_other_sector_is_rejected(keys):
    data = encode_record(make(keys), SECTOR, keys)
    assert check_copy(data, UID, SECTOR + 1, keys).status is CopyStatus.BAD_MAC


def test_record_made_with_another_master_key_is_rejected(keys):
    other = MasterKeys(bytes(range(0x80, 0xA0)), key_id=keys.key_id)
    assert check_copy(encode_record(make(keys), SECTOR, other), UID, SECTOR, keys).status is CopyStatus.BAD_MAC


def test_record_of_an_unknown_key_generation_is_rejected(keys):
    data = encode_record(make(keys, key_id=keys.key_id + 1), SECTOR, keys)
    check = check_copy(data, UID, SECTOR, keys)
    assert (check.status, check.reason) == (CopyStatus.BAD_MAC, "unknown_key_id")


@pytest.mark.parametrize("fill", [b"\0", b"\xff"])
def test_blank_copy_is_empty(keys, fill):
    assert check_copy(fill * RECORD_BYTES, UID, SECTOR, keys).status is CopyStatus.EMPTY


def test_other_data_is_foreign(keys):
    assert check_copy(b"NDEF" + bytes(44), UID, SECTOR, keys).status is CopyStatus.FOREIGN


@pytest.mark.parametrize(
    "changes",
    [
        dict(member_id=""),
        dict(member_id="x" * 17),
        dict(member_id="张三"),
        dict(member_id="M 1"),
        dict(issue_no=0),
        dict(counter=-1),
        dict(counter=2**32),
        dict(uid=bytes(10)),
    ],
)
def test_fields_that_cannot_be_stored_are_refused_when_encoding(keys, changes):
    with pytest.raises(RecordFormatError):
        encode_record(make(keys, **changes), SECTOR, keys)


@pytest.mark.parametrize(
    "offset, value, reason",
    [
        (2, 9, "unsupported_version"),
        (4, 5, "bad_uid_length"),
        (18, 0, "bad_member_id_length"),
        (18, 17, "bad_member_id_length"),
        (35, 1, "bad_reserved"),
    ],
)
def test_parser_names_the_reason(keys, offset, value, reason):
    data = bytearray(encode_record(make(keys), SECTOR, keys))
    data[offset] = value
    with pytest.raises(RecordFormatError) as info:
        parse_record(bytes(data))
    assert info.value.reason == reason


def test_parser_refuses_wrong_lengths():
    with pytest.raises(RecordFormatError, match="bad_length"):
        parse_record(b"KC")
