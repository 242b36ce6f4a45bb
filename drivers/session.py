"""TagSession: one selected card, as the domain's card-record code sees it.

The session hides ISO 14443 housekeeping: after any error the card has dropped back to IDLE (that
is what cards do after a NAK, a failed authentication or a lost frame), so the next call wakes and
re-selects the same UID before talking to it. A different card in the field is never mixed in:
re-selection is by UID.
"""

from __future__ import annotations

import logging
from typing import Protocol

from drivers.errors import ReaderError
from drivers.mfrc522 import MF_DECREMENT, MF_INCREMENT, MF_RESTORE, CardInfo, Mfrc522

_LOG = logging.getLogger(__name__)

CLASSIC_1K = "mifare_classic_1k"
NTAG213 = "ntag213"
NTAG215 = "ntag215"
NTAG216 = "ntag216"
ULTRALIGHT = "ultralight"
UNKNOWN = "unknown"
#: GET_VERSION byte 6 (storage size) of the NTAG21x family, and the type it names.
NTAG_BY_STORAGE_SIZE = {0x0F: NTAG213, 0x11: NTAG215, 0x13: NTAG216}
#: Bytes of user memory (from page 4) of each page-addressed type.
USER_MEMORY_BYTES = {NTAG213: 144, NTAG215: 504, NTAG216: 888, ULTRALIGHT: 48}


class TagSession(Protocol):
    uid: bytes
    card_type: str

    def authenticate(self, block: int, key: bytes, key_type: str = "A") -> None: ...

    def read_block(self, block: int) -> bytes: ...

    def write_block(self, block: int, data: bytes) -> None: ...

    def read_pages(self, page: int) -> bytes: ...


def card_type_for(driver: Mfrc522, info: CardInfo) -> tuple[str, bool]:
    """(card type, whether the card must be re-selected because detection knocked it to IDLE)."""
    if info.sak & 0x04:
        return UNKNOWN, False
    if info.sak in (0x08, 0x88):
        return CLASSIC_1K, False
    if info.sak == 0x00:
        version = driver.get_version()
        if version is None:
            return ULTRALIGHT, True  # original Ultralight: silent to GET_VERSION, now IDLE
        if version[2] == 0x04 and version[6] in NTAG_BY_STORAGE_SIZE:
            return NTAG_BY_STORAGE_SIZE[version[6]], False
        if version[2] == 0x03:
            return ULTRALIGHT, False
    return UNKNOWN, False


class CardSession:
    """A selected card. Methods raise drivers.errors.ReaderError subclasses."""

    def __init__(self, driver: Mfrc522, info: CardInfo, card_type: str, needs_reselect: bool = False) -> None:
        self.driver = driver
        self.uid = info.uid
        self.atqa = info.atqa
        self.sak = info.sak
        self.card_type = card_type
        self._needs_reselect = needs_reselect
        self.closed = False

    def __repr__(self) -> str:
        return f"CardSession({self.uid.hex()}, {self.card_type})"

    @classmethod
    def open(cls, driver: Mfrc522, info: CardInfo) -> CardSession:
        card_type, needs_reselect = card_type_for(driver, info)
        return cls(driver, info, card_type, needs_reselect)

    def _run(self, operation, *args):
        if self.closed:
            raise ReaderError("session is closed (card halted)")
        if self._needs_reselect:
            self.driver.reselect(self.uid)
            self._needs_reselect = False
        try:
            return operation(*args)
        except ReaderError:
            self._needs_reselect = True  # the card fell back to IDLE (or left)
            raise

    # --- MIFARE Classic -----------------------------------------------------------------------------
    def authenticate(self, block: int, key: bytes, key_type: str = "A") -> None:
        self._run(self.driver.authenticate, self.uid, block, bytes(key), key_type)

    def read_block(self, block: int) -> bytes:
        return self._run(self.driver.mifare_read, block)

    def write_block(self, block: int, data: bytes) -> None:
        self._run(self.driver.mifare_write, block, bytes(data))

    def increment(self, block: int, delta: int) -> None:
        self._check_operand(delta)
        self._run(self.driver.mifare_value, MF_INCREMENT, block, delta)

    def decrement(self, block: int, delta: int) -> None:
        self._check_operand(delta)
        self._run(self.driver.mifare_value, MF_DECREMENT, block, delta)

    def restore(self, block: int) -> None:
        self._run(self.driver.mifare_value, MF_RESTORE, block, 0)

    def transfer(self, block: int) -> None:
        self._run(self.driver.mifare_transfer, block)

    @staticmethod
    def _check_operand(value: int) -> None:
        if not 0 <= value <= 2**31 - 1:
            raise ValueError("value operand must be 0 .. 2**31-1")

    # --- Ultralight / NTAG ----------------------------------------------------------------------------
    def read_pages(self, page: int) -> bytes:
        """Four pages (16 bytes) starting at `page`."""
        return self._run(self.driver.mifare_read, page)

    def write_page(self, page: int, data: bytes) -> None:
        self._run(self.driver.ultralight_write, page, bytes(data))

    # --- end ----------------------------------------------------------------------------------------
    def halt(self) -> None:
        """HLTA: the card sleeps until the next WUPA. Safe to call on a card that already left."""
        if self.closed:
            return
        self.closed = True
        if self._needs_reselect:
            self.driver.park()
            return
        self.driver.halt()

    def reopen(self) -> None:
        """Wake and re-select this card after halt(); CardTimeout if it is gone."""
        self.driver.reselect(self.uid)
        self.closed = False
        self._needs_reselect = False


def open_session(driver: Mfrc522, *, wake: bool = True) -> CardSession | None:
    """Activate the card in the field and identify its type; None if the field is empty."""
    info = driver.activate(wake=wake)
    if info is None:
        return None
    return CardSession.open(driver, info)
