"""Fuzzing voucher codes as the till scans or types them: only MalformedVoucherCode from the parser,
only a VerifyResult from verification, and VALID only for the text the kiosk issued (give or take
case, whitespace and standard padding).

Complements tests/ledger/test_vouchers.py (random text and base32 never raise anything else): here
the corpus pins a verdict on each nasty case, and the properties are about what may verify:
mutated codes, lookalike letters, padding games, stray bits, spliced signatures, signed garbage.

Corpus codes were signed with the fixed test key `Ed25519PrivateKey.from_private_bytes(bytes(range(32)))`
for device "kiosk-01" and are checked at 2026-03-01T00:00Z.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kiosk.ledger.vouchers import (
    MalformedVoucherCode,
    VerifyResult,
    VerifyStatus,
    encode_voucher_code,
    parse_voucher_code,
    verify_voucher_code,
)
from tests.fuzz.fuzzing import CORPUS, corpus, fuzz_settings

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {"kiosk-01": KEY.public_key()}
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
EXPECTED = json.loads((CORPUS / "voucher" / "expected.json").read_text(encoding="utf-8"))
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def code(serial: int = 7, **fields) -> str:
    args = dict(
        device_id="kiosk-01",
        serial=serial,
        issued_at=NOW - dt.timedelta(days=1),
        expires_at=NOW + dt.timedelta(days=30),
        value_fen=1000,
        reward_id="off-10",
    )
    args.update(fields)
    return encode_voucher_code(KEY, **args)


GOOD = code()


def verdict(text: object) -> VerifyResult:
    """verify_voucher_code, checked for agreement with parse_voucher_code."""
    result = verify_voucher_code(text, KEYS, NOW)
    assert isinstance(result, VerifyResult) and result.reason
    try:
        parsed = parse_voucher_code(text)
    except MalformedVoucherCode as exc:
        assert str(exc), "a refusal says why"
        assert result.status is VerifyStatus.MALFORMED and result.voucher is None
    else:
        assert result.status is not VerifyStatus.MALFORMED and result.voucher == parsed
    return result


def normalised(text: str) -> str:
    """What the parser tolerates: whitespace anywhere, lower case, the standard '=' padding."""
    return "".join(text.split()).upper()


# --- corpus --------------------------------------------------------------------------------------


def test_every_corpus_file_has_an_expected_verdict():
    names = {p.name for p in (CORPUS / "voucher").glob("*.txt")}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("case", corpus("voucher", "*.txt"))
def test_corpus_voucher_code(case: Path):
    text = case.read_bytes().decode("utf-8")
    assert verdict(text).status.value == EXPECTED[case.name]


# --- generated inputs ----------------------------------------------------------------------------

#: Characters a scan, a keyboard or a chat app may put into a code, including letters that
#: str.upper() maps to ASCII (ı ſ ﬀ), confusables (Cyrillic А, fullwidth), padding and spaces.
NASTY_CHARS = st.sampled_from(
    list(BASE32)
    + list("abz018=-_ \t\n")
    + [
        "\u0131",
        "\u017f",
        "\ufb00",
        "\u0410",
        "\uff21",
        "\u200b",
        "\u00a0",
        "\u3000",
        "\x1c",
        "\0",
        "\ud800",
        "\u202e",
        "é",
        "🎟",
    ]
)
EDIT = st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, len(GOOD)), NASTY_CHARS)


def edit(text: str, edits) -> str:
    chars = list(text)
    for op, at, char in edits:
        at = min(at, len(chars))
        if op == "insert":
            chars.insert(at, char)
        elif chars and at < len(chars):
            if op == "delete":
                del chars[at]
            else:
                chars[at] = char
    return "".join(chars)


@fuzz_settings(500)
@given(st.lists(EDIT, min_size=1, max_size=4))
def test_an_edited_code_verifies_only_if_it_is_still_the_issued_text(edits):
    text = edit(GOOD, edits)
    result = verdict(text)
    if result.ok:
        body = normalised(text)
        assert body.rstrip("=") == GOOD and body[len(GOOD) :] in ("", "=" * (-len(GOOD) % 8)), repr(text)


@fuzz_settings(300)
@given(st.integers(0, len(GOOD) - 1), st.sampled_from(BASE32))
def test_one_changed_character_never_verifies(position, char):
    text = GOOD[:position] + char + GOOD[position + 1 :]
    assert verdict(text).ok == (text == GOOD)


@fuzz_settings(200)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode("utf-8", "surrogatepass")) <= 64),
    st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode("utf-8", "surrogatepass")) <= 64),
)
def test_any_issued_code_round_trips(serial, value, issued, expires, device_id, reward_id):
    try:
        text = encode_voucher_code(
            KEY,
            device_id=device_id,
            serial=serial,
            value_fen=value,
            reward_id=reward_id,
            issued_at=dt.datetime.fromtimestamp(issued, dt.UTC),
            expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
        )
    except (ValueError, UnicodeEncodeError):  # ids that are not UTF-8 text cannot be issued
        return
    parsed = verdict(text).voucher
    assert parsed is not None
    assert (parsed.serial, parsed.value_fen, parsed.device_id, parsed.reward_id) == (
        serial,
        value,
        device_id,
        reward_id,
    )


@fuzz_settings(300)
@given(st.binary(max_size=200), st.binary(min_size=0, max_size=70))
def test_signed_garbage_and_spliced_signatures_are_classified(payload, signature):
    # A payload the key really signed, and the same payload under an arbitrary 'signature'.
    for sig in (KEY.sign(payload), signature):
        text = base64.b32encode(payload + sig).decode().rstrip("=")
        result = verdict(text)
        if result.ok:
            assert sig == KEY.sign(payload)
            assert result.voucher.signed == payload


HEADER_FIELDS = st.tuples(
    st.sampled_from([0, 1, 2, 255]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=70),
    st.integers(0, 255),
    st.binary(max_size=70),
    st.integers(0, 255),
)


@fuzz_settings(300)
@given(HEADER_FIELDS, st.booleans())
def test_signed_payloads_built_field_by_field(fields, honest_lengths):
    version, serial, issued, expires, value, device, device_len, reward, reward_len = fields
    if honest_lengths:
        device_len, reward_len = len(device) % 256, len(reward) % 256
    payload = (
        struct.pack(">BIIII", version, serial, issued, expires, value)
        + bytes([device_len])
        + device
        + bytes([reward_len])
        + reward
    )
    result = verdict(base64.b32encode(payload + KEY.sign(payload)).decode().rstrip("="))
    if result.status is not VerifyStatus.MALFORMED:
        assert version == 1 and result.voucher.signed == payload


@fuzz_settings(100)
@given(st.one_of(st.text(min_size=1000, max_size=20_000), st.just(GOOD * 200), st.just(" " * 50_000 + GOOD)))
def test_very_long_input_is_malformed(text):
    assert verdict(text).status is VerifyStatus.MALFORMED


@fuzz_settings(100)
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.binary(),
        st.lists(st.text(max_size=3), max_size=3),
        st.just(GOOD.encode()),
        st.just(memoryview(GOOD.encode())),
    )
)
def test_code_that_is_not_text_is_malformed(value):
    assert verdict(value).status is VerifyStatus.MALFORMED


# --- regressions: each of these verified as VALID before ------------------------------------------


def test_lookalike_letters_that_upper_case_to_ascii_are_refused():
    text = next(c for c in (code(serial=s) for s in range(7, 400)) if "I" in c)
    with pytest.raises(MalformedVoucherCode, match="outside base32"):
        parse_voucher_code(text.replace("I", "\u0131", 1))  # dotless i: "ı".upper() == "I"


def test_stray_bits_in_the_last_character_are_refused():
    data = base64.b32decode(GOOD + "=" * (-len(GOOD) % 8))
    twin = next(
        GOOD[:-1] + c
        for c in BASE32
        if c != GOOD[-1] and base64.b32decode(GOOD[:-1] + c + "=" * (-len(GOOD) % 8)) == data
    )
    with pytest.raises(MalformedVoucherCode, match="canonical"):
        parse_voucher_code(twin)


def test_padding_beyond_the_standard_is_refused():
    with pytest.raises(MalformedVoucherCode, match="padding"):
        parse_voucher_code(GOOD + "=" * 20)


def test_standard_padding_is_still_accepted():
    assert verdict(GOOD + "=" * (-len(GOOD) % 8)).ok
