"""Card record and access-bit decoding against a corpus of damaged, forged and torn card contents.

Complements tests/cards/test_record_fuzz.py (random bytes never crash nor verify; the whole tap
path): here every corpus file has a known verdict, and the properties are about the format itself:
the parser is canonical (exactly one byte string per record), every refusal carries a documented
reason code, and it holds for any UID length and sector the reader can hand over.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cards import access
from kiosk.cards.errors import AccessBitsError, RecordFormatError
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.record import BODY_BYTES, RECORD_BYTES, CardRecord, CopyStatus, check_copy, encode_record, parse_record
from tests.fuzz.fuzzing import corpus, fuzz_settings

#: The corpus was made with this test key (the same as tests/cards uses), key generation 3.
KEYS = MasterKeys(bytes(range(0x40, 0x60)), key_id=3)
DEFAULT_UID = bytes.fromhex("04A1B2C3")
DEFAULT_SECTOR = 1

#: Every reason check_copy may give, per status (kiosk/cards/record.py).
REASONS = {
    CopyStatus.VALID: {""},
    CopyStatus.EMPTY: {"empty"},
    CopyStatus.FOREIGN: {"bad_length", "bad_magic"},
    CopyStatus.MALFORMED: {
        "bad_length",
        "bad_magic",
        "unsupported_version",
        "bad_uid_length",
        "bad_uid_padding",
        "bad_member_id_length",
        "bad_member_id_padding",
        "bad_member_id_chars",
        "bad_issue_no",
        "bad_reserved",
    },
    CopyStatus.BAD_MAC: {"unknown_key_id", "mac_mismatch"},
    CopyStatus.UID_MISMATCH: {"uid_mismatch"},
}


def read_hex_case(path: Path) -> tuple[bytes, dict[str, str]]:
    """Bytes of a corpus .hex file and its `# name: value` headers (expect, uid, sector)."""
    headers: dict[str, str] = {}
    digits = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            name, sep, value = line[1:].partition(":")
            if sep and name.strip() in ("expect", "uid", "sector"):
                headers[name.strip()] = value.strip()
        else:
            digits.append("".join(line.split()))
    return bytes.fromhex("".join(digits)), headers


def assert_classified(data: bytes, uid: bytes, sector: int):
    check = check_copy(data, uid, sector, KEYS)
    assert check.reason in REASONS[check.status], check
    assert (check.record is not None) == (check.status is CopyStatus.VALID)
    return check


# --- corpus --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", corpus("card"))
def test_corpus_record_copy(case: Path):
    data, headers = read_hex_case(case)
    uid = bytes.fromhex(headers.get("uid", DEFAULT_UID.hex()))
    sector = int(headers.get("sector", DEFAULT_SECTOR))
    status, _, reason = headers["expect"].partition(" ")
    check = assert_classified(data, uid, sector)
    assert (check.status.value, check.reason) == (status, reason)


@pytest.mark.parametrize("case", corpus("card"))
def test_corpus_record_parser_gives_a_reason_or_a_record(case: Path):
    data, headers = read_hex_case(case)
    try:
        record = parse_record(data)
    except RecordFormatError as exc:
        assert exc.reason in REASONS[CopyStatus.MALFORMED], exc
        assert not headers["expect"].startswith(("valid", "bad_mac", "uid_mismatch"))
    else:
        # A record that parses is re-encoded to the very same body: nothing in it is ignored.
        assert encode_record(record, DEFAULT_SECTOR, KEYS)[:BODY_BYTES] == bytes(data[:BODY_BYTES])


@pytest.mark.parametrize("case", corpus("card-access"))
def test_corpus_access_bits(case: Path):
    data, headers = read_hex_case(case)
    if headers["expect"] == "valid":
        conditions = access.decode(data)
        assert access.encode(conditions)[: len(data)] == data
    else:
        with pytest.raises(AccessBitsError):
            access.decode(data)


# --- generated inputs ----------------------------------------------------------------------------

UIDS = st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
SECTORS = st.integers(0, 15)
GENUINE = encode_record(CardRecord(DEFAULT_UID, "M0001234", 1, 7, KEYS.key_id), DEFAULT_SECTOR, KEYS)
#: Bodies built field by field, so every branch of the parser is reached far more often than
#: by random bytes; values straddle each field's limits.
FIELDS = st.tuples(
    st.sampled_from([b"KC", b"kc", b"\0\0", b"\xff\xff"]),
    st.sampled_from([0, 1, 2, 255]),
    st.integers(0, 255),
    st.sampled_from([0, 1, 4, 7, 8, 10, 255]),
    st.binary(min_size=7, max_size=7) | st.just(bytes(7)),
    st.sampled_from([0, 1, 0xFFFF]) | st.integers(0, 0xFFFF),
    st.sampled_from([0, 0xFFFFFFFF]) | st.integers(0, 0xFFFFFFFF),
    st.sampled_from([0, 1, 16, 17, 255]),
    st.binary(min_size=16, max_size=16)
    | st.from_regex(rb"[0-9A-Za-z_-]{1,16}", fullmatch=True).map(lambda b: b.ljust(16, b"\0")),
    st.sampled_from([0, 1, 255]),
    st.binary(min_size=12, max_size=12),
)


def build(fields) -> bytes:
    magic, version, key_id, uid_len, uid, issue, counter, mid_len, mid, reserved, mac = fields
    return (
        magic
        + bytes([version, key_id, uid_len])
        + uid
        + issue.to_bytes(2, "big")
        + counter.to_bytes(4, "big")
        + bytes([mid_len])
        + mid
        + bytes([reserved])
        + mac
    )


@fuzz_settings(400)
@given(FIELDS, UIDS, SECTORS)
def test_field_by_field_records_are_classified_with_a_documented_reason(fields, uid, sector):
    data = build(fields)
    assert len(data) == RECORD_BYTES
    check = assert_classified(data, uid, sector)
    assert check.status is not CopyStatus.VALID  # a random MAC never verifies


@fuzz_settings(400)
@given(FIELDS)
def test_parser_is_canonical(fields):
    # If two byte strings parsed to the same record, a forger could vary the unparsed bits.
    data = build(fields)
    try:
        record = parse_record(data)
    except RecordFormatError as exc:
        assert exc.reason in REASONS[CopyStatus.MALFORMED]
        return
    assert encode_record(record, DEFAULT_SECTOR, KEYS)[:BODY_BYTES] == data[:BODY_BYTES]


@fuzz_settings(300)
@given(
    UIDS,
    SECTORS,
    st.from_regex(r"[0-9A-Za-z_-]{1,16}", fullmatch=True),
    st.integers(1, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
)
def test_a_valid_copy_is_exactly_the_encoding_of_its_record(uid, sector, member_id, issue_no, counter):
    if len(uid) == 10:  # records hold 4- and 7-byte UIDs only
        return
    data = encode_record(CardRecord(uid, member_id, issue_no, counter, KEYS.key_id), sector, KEYS)
    check = assert_classified(data, uid, sector)
    assert check.status is CopyStatus.VALID
    assert encode_record(check.record, sector, KEYS) == data


@fuzz_settings(300)
@given(st.binary(max_size=RECORD_BYTES + 4), UIDS, SECTORS, st.sampled_from([bytes, bytearray, memoryview]))
def test_any_buffer_type_and_length_is_classified(data, uid, sector, kind):
    # The driver hands over bytes today; a bytearray or memoryview must not change the verdict.
    assert assert_classified(kind(data), uid, sector) == assert_classified(bytes(data), uid, sector)


@fuzz_settings(300)
@given(st.lists(st.tuples(st.integers(0, RECORD_BYTES - 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_xor_damage_to_a_genuine_copy_never_verifies(damage):
    data = bytearray(GENUINE)
    for offset, mask in damage:
        data[offset] ^= mask
    check = assert_classified(bytes(data), DEFAULT_UID, DEFAULT_SECTOR)
    assert check.status is not CopyStatus.VALID or bytes(data) == GENUINE


@fuzz_settings(300)
@given(st.binary(max_size=8))
def test_access_bits_decode_or_refuse(data):
    try:
        conditions = access.decode(data)
    except AccessBitsError:
        return
    # Whatever decodes re-encodes to the same bytes (GPB defaults when only 3 bytes were given).
    assert access.encode(conditions)[: len(data)] == data
