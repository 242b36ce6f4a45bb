"""Canonical JSON: one byte string per document, and a strict parser for what arrives."""

import pytest

from sync.canonical import canonical_bytes, loads_strict
from sync.errors import EncodingError, PayloadError


def test_keys_are_sorted_and_whitespace_is_gone():
    assert canonical_bytes({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_non_ascii_text_is_utf8_not_escaped():
    assert canonical_bytes({"name": "金卡"}) == '{"name":"金卡"}'.encode()


def test_equal_documents_encode_equally_whatever_the_key_order():
    assert canonical_bytes({"x": {"b": 2, "a": 1}}) == canonical_bytes({"x": {"a": 1, "b": 2}})


@pytest.mark.parametrize("value", [1.5, {"a": [0.1]}, float("nan"), {1: "a"}, {"a": object()}])
def test_values_without_a_canonical_encoding_are_refused(value):
    with pytest.raises(EncodingError):
        canonical_bytes(value)


@pytest.mark.parametrize("raw", [b'{"a":1,"a":2}', b"\xff\xfe", b"{", b'{"a":NaN}', b"[1,]"])
def test_strict_parser_refuses_ambiguous_or_broken_json(raw):
    with pytest.raises(PayloadError):
        loads_strict(raw)


def test_strict_parser_reads_nested_json():
    assert loads_strict('{"a":{"b":["金"]}}'.encode()) == {"a": {"b": ["金"]}}
