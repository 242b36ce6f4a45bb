"""The member record codec and its MAC. Parses untrusted bytes: never crashes, says why not.

One copy is 48 bytes (the three data blocks of a sector), big-endian:

    off len field
      0   2 magic b"KC"
      2   1 format version (1)
      3   1 key id (generation of the master key that made the MAC)
      4   1 UID length (4, 7 or 10... only 4 and 7 fit the field)
      5   7 UID, zero padded
     12   2 card issue number (1 = first card, 2 = first replacement, ...)
     14   4 transaction counter
     18   1 member id length (1..16)
     19  16 member id, ASCII [0-9A-Za-z_-], zero padded
     35   1 reserved, must be 0
     36  12 MAC = HMAC-SHA256(mac key, label | sector | len(UID) | UID | bytes 0..35)[:12]

The MAC binds every field to the card's real UID (as the reader saw it, not the copy in the
record) and to the sector the copy sits in, with a key the card never sees. 96 bits is plenty
for a tag that can only be tried by writing a card and tapping it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from kiosk.cards.errors import RecordFormatError
from kiosk.cards.keyfile import MasterKeys

MAGIC = b"KC"
FORMAT_VERSION = 1
RECORD_BYTES = 48
MAC_BYTES = 12
BODY_BYTES = RECORD_BYTES - MAC_BYTES
UID_FIELD = 7
MEMBER_ID_MAX = 16
COUNTER_MAX = 0xFFFF_FFFF
ISSUE_MAX = 0xFFFF
_MAC_LABEL = b"kiosk/card-record/v1"
_MEMBER_ID_RE = re.compile(rb"[0-9A-Za-z_-]{1,16}")
_HEAD = struct.Struct(">2sBBB7sHIB16sB")  # everything before the MAC
assert _HEAD.size == BODY_BYTES


@dataclass(frozen=True)
class CardRecord:
    """A decoded record copy. Only ever built from validated fields."""

    uid: bytes
    member_id: str
    issue_no: int
    counter: int
    key_id: int
    version: int = FORMAT_VERSION

    def with_counter(self, counter: int) -> CardRecord:
        return CardRecord(self.uid, self.member_id, self.issue_no, counter, self.key_id, self.version)


class CopyStatus(str, enum.Enum):
    VALID = "valid"
    EMPTY = "empty"  # all zero or all 0xFF: nothing was ever written here
    FOREIGN = "foreign"  # data, but not ours (no magic)
    MALFORMED = "malformed"  # our magic, fields out of range (torn write or tampering)
    BAD_MAC = "bad_mac"  # well formed, MAC does not verify (tampering, torn write, other key)
    UID_MISMATCH = "uid_mismatch"  # authentic-looking record naming another card's UID


@dataclass(frozen=True)
class CopyCheck:
    """What one copy's bytes turned out to be; `record` only when status is VALID."""

    status: CopyStatus
    reason: str = ""
    record: CardRecord | None = None


def encode_record(record: CardRecord, sector: int, keys: MasterKeys) -> bytes:
    """48 bytes for `record` in `sector`; RecordFormatError if a field cannot be stored."""
    _check_fields(record)
    body = _HEAD.pack(
        MAGIC,
        FORMAT_VERSION,
        record.key_id,
        len(record.uid),
        record.uid.ljust(UID_FIELD, b"\0"),
        record.issue_no,
        record.counter,
        len(record.member_id),
        record.member_id.encode("ascii").ljust(MEMBER_ID_MAX, b"\0"),
        0,
    )
    return body + _mac(keys, record.uid, sector, body)


def parse_record(data: bytes) -> CardRecord:
    """Decode the fields of a copy WITHOUT checking the MAC (for `check_copy` and inspection).

    Raises RecordFormatError(reason) for anything that is not a well-formed record.
    """
    if not isinstance(data, (bytes, bytearray)) or len(data) != RECORD_BYTES:
        raise RecordFormatError("bad_length", f"expected {RECORD_BYTES} bytes")
    magic, version, key_id, uid_len, uid_field, issue_no, counter, mid_len, mid_field, reserved = _HEAD.unpack_from(
        bytes(data)
    )
    if magic != MAGIC:
        raise RecordFormatError("bad_magic")
    if version != FORMAT_VERSION:
        raise RecordFormatError("unsupported_version", str(version))
    if uid_len not in (4, 7):
        raise RecordFormatError("bad_uid_length", str(uid_len))
    if any(uid_field[uid_len:]):
        raise RecordFormatError("bad_uid_padding")
    if not 1 <= mid_len <= MEMBER_ID_MAX:
        raise RecordFormatError("bad_member_id_length", str(mid_len))
    member_id = mid_field[:mid_len]
    if any(mid_field[mid_len:]):
        raise RecordFormatError("bad_member_id_padding")
    if not _MEMBER_ID_RE.fullmatch(member_id):
        raise RecordFormatError("bad_member_id_chars")
    if issue_no == 0:
        raise RecordFormatError("bad_issue_no")
    if reserved != 0:
        raise RecordFormatError("bad_reserved")
    return CardRecord(uid_field[:uid_len], member_id.decode("ascii"), issue_no, counter, key_id, version)


def check_copy(data: bytes, card_uid: bytes, sector: int, keys: MasterKeys) -> CopyCheck:
    """Classify one copy read from `sector` of the card whose real UID is `card_uid`."""
    data = bytes(data)
    if len(data) == RECORD_BYTES and (not any(data) or data == b"\xff" * RECORD_BYTES):
        return CopyCheck(CopyStatus.EMPTY, "empty")
    if len(data) != RECORD_BYTES or not data.startswith(MAGIC):
        return CopyCheck(CopyStatus.FOREIGN, "bad_length" if len(data) != RECORD_BYTES else "bad_magic")
    try:
        record = parse_record(data)
    except RecordFormatError as exc:
        return CopyCheck(CopyStatus.MALFORMED, exc.reason)
    if record.key_id != keys.key_id:
        return CopyCheck(CopyStatus.BAD_MAC, "unknown_key_id")
    expected = _mac(keys, card_uid, sector, data[:BODY_BYTES])
    if not hmac.compare_digest(expected, data[BODY_BYTES:]):
        if record.uid != card_uid:
            return CopyCheck(CopyStatus.UID_MISMATCH, "uid_mismatch")
        return CopyCheck(CopyStatus.BAD_MAC, "mac_mismatch")
    if record.uid != card_uid:  # cannot happen with a correct MAC; kept as a belt-and-braces check
        return CopyCheck(CopyStatus.UID_MISMATCH, "uid_mismatch")
    return CopyCheck(CopyStatus.VALID, "", record)


def _check_fields(record: CardRecord) -> None:
    if len(record.uid) not in (4, 7):
        raise RecordFormatError("bad_uid_length", "records fit 4- and 7-byte UIDs")
    if not _MEMBER_ID_RE.fullmatch(record.member_id.encode("ascii", "replace")):
        raise RecordFormatError("bad_member_id_chars", "1..16 of [0-9A-Za-z_-]")
    if not 1 <= record.issue_no <= ISSUE_MAX:
        raise RecordFormatError("bad_issue_no", f"1..{ISSUE_MAX}")
    if not 0 <= record.counter <= COUNTER_MAX:
        raise RecordFormatError("bad_counter", f"0..{COUNTER_MAX}")
    if not 0 <= record.key_id <= 255:
        raise RecordFormatError("bad_key_id")


def _mac(keys: MasterKeys, uid: bytes, sector: int, body: bytes) -> bytes:
    message = bytes([len(_MAC_LABEL)]) + _MAC_LABEL + bytes([sector, len(uid)]) + uid + body
    return hmac.new(keys.mac_key, message, hashlib.sha256).digest()[:MAC_BYTES]
