"""How a card UID may appear in logs: only its last two bytes (a UID is a member's stable identifier)."""

from __future__ import annotations


def redact_uid(uid: bytes) -> str:
    """A card UID as it may appear in logs: only the last two bytes, e.g. ``uid:…3A9F``.

    >>> redact_uid(bytes.fromhex("04A1B2C33A9F80"))
    'uid:…9F80'
    >>> redact_uid(b"")
    'uid:?'
    """
    if not uid:
        return "uid:?"
    # A 1- or 2-byte value would be shown whole; show nothing of it rather than all of it.
    tail = uid[-2:] if len(uid) > 2 else b""
    return f"uid:…{tail.hex().upper()}"
