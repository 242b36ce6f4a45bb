"""Fuzzing the record parser: arbitrary card contents never crash it and are never accepted."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.cards.errors import RecordFormatError
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.record import RECORD_BYTES, CardRecord, CopyStatus, check_copy, encode_record, parse_record

KEYS = MasterKeys(bytes(range(0x40, 0x60)), key_id=3)
UID = bytes.fromhex("04A1B2C3")
# CI runs the default; KIOSK_FUZZ_EXAMPLES=100000 for a long local run.
EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "1500"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = encode_record(CardRecord(UID, "M0001234", 1, 7, 3), 1, KEYS)


def _assert_not_accepted(data: bytes) -> None:
    check = check_copy(data, UID, 1, KEYS)
    assert check.status is not CopyStatus.VALID or data == GOOD
    try:
        parse_record(data)
    except RecordFormatError as exc:
        assert exc.reason  # every refusal says why


@FUZZ
@given(st.binary(min_size=0, max_size=96))
def test_random_bytes_of_any_length(data):
    _assert_not_accepted(data)


@FUZZ
@given(st.binary(min_size=RECORD_BYTES - 2, max_size=RECORD_BYTES - 2))
def test_random_bytes_behind_our_magic(tail):
    _assert_not_accepted(b"KC" + tail)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, RECORD_BYTES - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutations_of_a_genuine_record(edits):
    data = bytearray(GOOD)
    for offset, value in edits:
        data[offset] = value
    _assert_not_accepted(bytes(data))


@FUZZ
@given(
    st.binary(min_size=4, max_size=4) | st.binary(min_size=7, max_size=7),
    st.from_regex(r"[0-9A-Za-z_-]{1,16}", fullmatch=True),
    st.integers(1, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
)
def test_any_storable_record_round_trips_and_binds_to_its_uid(uid, member_id, issue_no, counter):
    record = CardRecord(uid, member_id, issue_no, counter, KEYS.key_id)
    data = encode_record(record, 2, KEYS)
    assert check_copy(data, uid, 2, KEYS).record == record
    other_uid = bytes([uid[0] ^ 1]) + uid[1:]
    assert check_copy(data, other_uid, 2, KEYS).status is not CopyStatus.VALID


# --- whole tap path: fuzzed sector contents on a card that opens with the right keys -------------

from drivers.emulator.cards import MifareClassic1K  # noqa: E402
from kiosk.cards import layout  # noqa: E402
from kiosk.cards.personalize import personalize  # noqa: E402
from kiosk.cards.reading import read_card  # noqa: E402
from kiosk.cards.verify import Verified, judge  # noqa: E402
from tests.cards.reader import FAULTS, Reader  # noqa: E402

_CARD_UID = bytes.fromhex("5A6B7C8D")
_PERSONALIZED = MifareClassic1K(_CARD_UID)
_READER = Reader()
personalize(_READER.present(_PERSONALIZED), KEYS, "M0001", 1, FAULTS)
_IMAGE = [_PERSONALIZED.block(n) for n in range(64)]
_GENUINE = {b"".join(_IMAGE[b] for b in layout.data_blocks(s)) for s in layout.RECORD_SECTORS}


@settings(max_examples=max(50, EXAMPLES // 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(min_size=48, max_size=48) | st.just(b"KC" + bytes(46)),
    st.binary(min_size=48, max_size=48) | st.sampled_from(sorted(_GENUINE)),
)
def test_fuzzed_card_contents_never_crash_the_tap_and_are_never_accepted(copy0, copy1):
    card = MifareClassic1K(_CARD_UID)
    for n, data in enumerate(_IMAGE):
        card.set_block(n, data)
    for sector, data in zip(layout.RECORD_SECTORS, (copy0, copy1)):
        for i, block in enumerate(layout.data_blocks(sector)):
            card.set_block(block, data[16 * i : 16 * i + 16])
    verdict = judge(read_card(_READER.present(card), KEYS, FAULTS), None)
    # Copy 0 is never the genuine one here, and the genuine copy moved into sector 2 fails its MAC.
    assert not isinstance(verdict, Verified), verdict
