"""Structured entries for journald, received on a real AF_UNIX datagram socket bound in the test
(as /run/systemd/journal/socket is by systemd-journald) and parsed by the native protocol."""

from __future__ import annotations

import logging
import socket
import struct

import pytest

from app.journal import JournalHandler, event_fields, member_tag
from app.logs import RedactingFilter

UID = bytes.fromhex("04A1B2C33A9F80")


def parse_native(data: bytes) -> dict[str, str]:
    """systemd.journal-fields(7)'s native protocol: FIELD=value\\n, or FIELD\\n<u64 LE size><bytes>\\n."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            at = end + 1
        else:
            name = line
            (size,) = struct.unpack_from("<Q", data, end + 1)
            value = data[end + 9 : end + 9 + size]
            assert data[end + 9 + size : end + 10 + size] == b"\n"
            at = end + 10 + size
        fields[name.decode()] = value.decode()
    return fields


@pytest.fixture
def journal(tmp_path):
    """A logger whose only handler is a JournalHandler on a socket the test reads."""
    path = tmp_path / "journal.socket"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    handler = JournalHandler(path)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.journal")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, lambda: parse_native(server.recv(65536))
    logger.removeHandler(handler)
    handler.close()
    server.close()


def test_an_event_carries_its_kind_as_a_field_journalctl_can_match(journal):
    logger, receive = journal
    logger.info("card read", extra={"kiosk": event_fields("tap")})
    assert receive()["KIOSK_EVENT"] == "tap"


def test_the_card_uid_reaches_the_journal_redacted(journal):
    logger, receive = journal
    logger.info("card read", extra={"kiosk": event_fields("tap", card_uid=UID)})
    entry = receive()
    assert entry["KIOSK_CARD"] == "uid:…9F80"
    assert UID.hex() not in repr(entry).lower()


def test_the_member_id_reaches_the_journal_hashed(journal):
    logger, receive = journal
    tag = member_tag(b"k" * 32, "M0001")
    logger.info("redeemed", extra={"kiosk": event_fields("redeem", member=tag)})
    entry = receive()
    assert entry["KIOSK_MEMBER"] == tag and "M0001" not in repr(entry)


def test_the_priority_is_syslogs(journal):
    logger, receive = journal
    logger.warning("reader slow")
    assert receive()["PRIORITY"] == "4"


def test_a_multi_line_message_uses_the_length_prefixed_form(journal):
    logger, receive = journal
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    assert "Traceback" in receive()["MESSAGE"]
