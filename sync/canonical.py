"""Canonical JSON: the one byte string a document has, so a signature can cover it.

Rules (docs/mqtt.md): keys sorted by code point, separators "," and ":", UTF-8 without `\\u`
escapes for non-ASCII text, integers only. Floats are refused rather than normalised because two
languages rarely print the same float the same way, and money is integer fen anyway.
"""

from __future__ import annotations

import json
from typing import Any

from sync.errors import EncodingError, PayloadError

_Json = dict[str, Any] | list[Any] | str | int | bool | None


def _check(value: Any, path: str) -> None:
    # bool is an int subclass; both are fine. Walk everything so the error names the bad spot.
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        raise EncodingError(f"{path}: floats have no canonical encoding (use integers)")
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"{path}: key {key!r} is not a string")
            _check(item, f"{path}.{key}")
        return
    raise EncodingError(f"{path}: {type(value).__name__} is not JSON")


def canonical_bytes(value: Any) -> bytes:
    """Encode `value` canonically; `EncodingError` if it contains anything but JSON integers etc."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Two parsers could pick different copies: a classic signature-bypass trick.
            raise PayloadError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise PayloadError(f"{name} is not JSON")


def loads_strict(raw: bytes) -> Any:
    """Parse UTF-8 JSON refusing duplicate keys, NaN/Infinity; `PayloadError` on any problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"not UTF-8: {exc}") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None
    # "\ud800" is valid JSON but not Unicode: such a string cannot be stored in SQLite nor echoed
    # back in a push-ack (both raise UnicodeEncodeError), so refuse it here, with the message.
    if "\\u" in text and _has_lone_surrogate(value):
        raise PayloadError("not JSON text: a \\u escape encodes a lone surrogate")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]  # iterative: the document may be nested as deep as the parser allowed
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return False
