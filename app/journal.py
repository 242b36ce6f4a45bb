"""Structured log records for journald, over its native protocol (no libsystemd binding needed).

A technician filters by the fields: ``journalctl -u kiosk KIOSK_EVENT=tap``, ``KIOSK_MEMBER=...``.
Each record is one datagram to ``/run/systemd/journal/socket`` (systemd.journal-fields(7),
"native protocol"): ``FIELD=value\\n`` per field, or, for a value holding a newline,
``FIELD\\n`` + its length as 64-bit little-endian + the value + ``\\n``. Fields come from the
record (MESSAGE, PRIORITY, CODE_FILE/LINE/FUNC, LOGGER) and from ``extra={"kiosk": {...}}``, whose
keys become ``KIOSK_<KEY>``. The handler carries `app.logs.RedactingFilter` like every other, and
callers pass card UIDs and member ids only through `event_fields`, which redacts and hashes them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import struct
from collections.abc import Mapping
from pathlib import Path

from kiosk.cards.redact import redact_uid

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
IDENTIFIER = "kiosk"
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def encode_fields(fields: Mapping[str, str]) -> bytes:
    """The native protocol's encoding of one entry."""
    out = bytearray()
    for name, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += name.encode() + b"=" + data + b"\n"
    return bytes(out)


def member_tag(key: bytes, member_id: str) -> str:
    """A member id as the journal may hold it: keyed hash, the same on every kiosk of the fleet."""
    return hmac.new(key, b"kiosk-journal-member/v1\n" + member_id.encode(), hashlib.sha256).hexdigest()[:16]


def event_fields(
    event: str, *, card_uid: bytes | None = None, member: str | None = None, **more: str
) -> dict[str, str]:
    """`extra={"kiosk": event_fields(...)}`: `member` is already a `member_tag`, the UID is redacted here."""
    fields = {"event": event, **more}
    if card_uid is not None:
        fields["card"] = redact_uid(card_uid)
    if member is not None:
        fields["member"] = member
    return fields


class JournalHandler(logging.Handler):
    """Sends each record to journald as one native-protocol datagram."""

    def __init__(self, socket_path: Path = JOURNAL_SOCKET, identifier: str = IDENTIFIER) -> None:
        super().__init__()
        self._path = str(socket_path)
        self._identifier = identifier
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def fields(self, record: logging.LogRecord) -> dict[str, str]:
        message = record.getMessage()
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        fields = {
            "MESSAGE": f"{record.name}: {message}",
            "PRIORITY": str(_PRIORITY.get(record.levelno, 6)),
            "SYSLOG_IDENTIFIER": self._identifier,
            "LOGGER": record.name,
            "CODE_FILE": record.pathname,
            "CODE_LINE": str(record.lineno),
            "CODE_FUNC": record.funcName,
        }
        extra = getattr(record, "kiosk", None)
        if isinstance(extra, Mapping):
            for key, value in extra.items():
                name = "KIOSK_" + "".join(c if c.isalnum() else "_" for c in str(key)).upper()
                fields[name] = str(value)
        return fields

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sock.sendto(encode_fields(self.fields(record)), self._path)
        except Exception:  # noqa: BLE001 - logging must never take the kiosk down
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()
