"""Emulated NTAG213/215/216 and MIFARE Ultralight: 7-byte UID, 4-byte pages, READ returns four pages.

Pages 0..2 hold the UID and its check bytes (read-only except the lock bytes, which only OR in);
page 3 is one-time programmable (bits OR in) and holds the NFC Forum capability container, whose
third byte is the NDEF data area / 8 (the factory value of each datasheet). NTAG user memory
starts at page 4 (NTAG213/215/216 datasheet, section 8.5). Password protection (PWD_AUTH) and
lock-bit enforcement of the user pages are not modelled: the kiosk's card layout uses only MIFARE
Classic 1K, and NTAG stickers are just told apart.
"""

from __future__ import annotations

from drivers.crc import check_crc, with_crc
from drivers.emulator.cards.iso14443 import CASCADE_TAG, Iso14443Card
from drivers.emulator.rf import ACK, Frame, Reply

READ, WRITE, COMPAT_WRITE, GET_VERSION = 0x30, 0xA2, 0xA0, 0x60
NAK_INVALID_ARGUMENT = 0x00
NAK_CRC = 0x01


class _PageCard(Iso14443Card):
    ATQA = b"\x44\x00"
    SAK = 0x00
    PAGES = 16
    USER_PAGES = range(4, 16)
    VERSION: bytes | None = None
    CAPABILITY = b"\xe1\x10\x06\x00"
    timing_eeprom_s = 0.0041

    def __init__(self, uid: bytes) -> None:
        if len(uid) != 7:
            raise ValueError("NTAG/Ultralight cards have a 7-byte UID")
        super().__init__(uid)
        self._pages = bytearray(self.PAGES * 4)
        bcc0 = CASCADE_TAG ^ uid[0] ^ uid[1] ^ uid[2]
        bcc1 = uid[3] ^ uid[4] ^ uid[5] ^ uid[6]
        self._pages[0:12] = bytes((uid[0], uid[1], uid[2], bcc0)) + uid[3:7] + bytes((bcc1, 0x48, 0, 0))
        self._pages[12:16] = self.CAPABILITY
        self._pending_compat: int | None = None

    def page(self, n: int) -> bytes:
        self._check_page(n)
        return bytes(self._pages[n * 4 : n * 4 + 4])

    def set_page(self, n: int, data: bytes) -> None:
        self._check_page(n)
        if len(data) != 4:
            raise ValueError("a page is 4 bytes")
        self._pages[n * 4 : n * 4 + 4] = data

    def _check_page(self, n: int) -> None:
        if not 0 <= n < self.PAGES:
            raise ValueError(f"page {n} does not exist on {type(self).__name__}")

    def _forget_session(self) -> None:
        self._pending_compat = None

    def command(self, frame: Frame) -> Reply | None:
        data = frame.data
        if frame.nbits % 8 or not check_crc(data):
            return self._nak(NAK_CRC)
        if self._pending_compat is not None:
            page, self._pending_compat = self._pending_compat, None
            if len(data) != 18:
                return self._nak(NAK_INVALID_ARGUMENT)
            return self._write(page, data[:4])
        cmd = data[0]
        if cmd == READ and len(data) == 4:
            page = data[1]
            if page >= self.PAGES:
                return self._nak(NAK_INVALID_ARGUMENT)
            out = b"".join(self.page((page + i) % self.PAGES) for i in range(4))  # rolls over
            return Reply.data(with_crc(out))
        if cmd == WRITE and len(data) == 8:
            return self._write(data[1], data[2:6])
        if cmd == COMPAT_WRITE and len(data) == 4:
            if not 2 <= data[1] < self.PAGES:
                return self._nak(NAK_INVALID_ARGUMENT)
            self._pending_compat = data[1]
            return Reply.nibble(ACK)
        if cmd == GET_VERSION and len(data) == 3 and self.VERSION is not None:
            return Reply.data(with_crc(self.VERSION))
        self.fall_back()  # unknown command: silence and back to IDLE, as MF0ICU1 does
        return None

    def _write(self, page: int, data: bytes) -> Reply:
        if not 2 <= page < self.PAGES:
            return self._nak(NAK_INVALID_ARGUMENT)
        if page == 2:  # only the two lock bytes, and only bits that OR in
            current = self.page(2)
            self.set_page(2, current[:2] + bytes((current[2] | data[2], current[3] | data[3])))
        elif page == 3:  # one-time programmable
            self.set_page(3, bytes(a | b for a, b in zip(self.page(3), data)))
        else:
            self.set_page(page, data)
        return Reply.nibble(ACK, self.timing_eeprom_s)

    def _nak(self, code: int) -> Reply:
        self.fall_back()
        return Reply.nibble(code)


class Ntag213(_PageCard):
    """NTAG213: 45 pages, 144 bytes of user memory (pages 4..39), answers GET_VERSION."""

    PAGES = 45
    USER_PAGES = range(4, 40)
    VERSION = bytes.fromhex("0004040201000f03")
    CAPABILITY = b"\xe1\x10\x12\x00"
    card_type = "ntag213"


class Ntag215(_PageCard):
    """NTAG215: 135 pages, 504 bytes of user memory (pages 4..129); GET_VERSION storage size 0x11."""

    PAGES = 135
    USER_PAGES = range(4, 130)
    VERSION = bytes.fromhex("0004040201001103")
    CAPABILITY = b"\xe1\x10\x3e\x00"
    card_type = "ntag215"


class Ntag216(_PageCard):
    """NTAG216: 231 pages, 888 bytes of user memory (pages 4..225); GET_VERSION storage size 0x13."""

    PAGES = 231
    USER_PAGES = range(4, 226)
    VERSION = bytes.fromhex("0004040201001303")
    CAPABILITY = b"\xe1\x10\x6d\x00"
    card_type = "ntag216"


class Ultralight(_PageCard):
    """MIFARE Ultralight (MF0ICU1): 16 pages, no GET_VERSION."""

    PAGES = 16
    card_type = "ultralight"
