"""ISO/IEC 14443-3 type A card behaviour shared by every emulated card.

States IDLE, READY, ACTIVE and HALT (with the READY*/ACTIVE* variants remembered by `from_halt`),
REQA/WUPA, bit-level anticollision and SELECT for cascade levels 1 and 2, and HLTA. Card families
add their own ACTIVE-state commands in `command()`.
"""

from __future__ import annotations

import enum

from drivers.crc import check_crc, with_crc
from drivers.emulator.rf import Frame, Reply

REQA = 0x26
WUPA = 0x52
SEL_CODES = {1: 0x93, 2: 0x95, 3: 0x97}
CASCADE_TAG = 0x88
SAK_CASCADE = 0x04


class CardState(enum.Enum):
    OFF = "off"
    IDLE = "idle"
    READY = "ready"
    ACTIVE = "active"
    HALT = "halt"


def bcc(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


class Iso14443Card:
    """Base class: subclasses set ATQA, SAK and `card_type`, and implement `command()`."""

    ATQA = b"\x00\x00"
    SAK = 0x00
    card_type = "unknown"

    def __init__(self, uid: bytes) -> None:
        if len(uid) not in (4, 7):
            raise ValueError(f"UID must be 4 or 7 bytes, got {len(uid)}")
        if len(uid) == 4 and uid[0] == CASCADE_TAG:
            raise ValueError("a 4-byte UID cannot start with the cascade tag 0x88")
        self.uid = bytes(uid)
        self.state = CardState.OFF
        self.from_halt = False
        self.level = 1
        self.frames_received = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uid.hex()}, {self.state.value})"

    # --- power -------------------------------------------------------------------------------
    def power_on(self) -> None:
        self.state = CardState.IDLE
        self.from_halt = False
        self._forget_session()

    def power_off(self) -> None:
        self.state = CardState.OFF
        self._forget_session()

    @property
    def authenticated(self) -> bool:
        """True while a MIFARE Crypto1 session is up (Classic only)."""
        return False

    def _forget_session(self) -> None:
        """Drop authentication and half-finished commands (subclasses extend)."""

    def fall_back(self) -> None:
        """Leave READY/ACTIVE after an unexpected frame: IDLE, or HALT if woken from HALT."""
        self.state = CardState.HALT if self.from_halt else CardState.IDLE
        self._forget_session()

    # --- air interface ------------------------------------------------------------------------
    def cascade_levels(self) -> list[bytes]:
        """The 5-byte UID CLn (with BCC) answered at each cascade level."""
        if len(self.uid) == 4:
            return [self.uid + bytes((bcc(self.uid),))]
        first = bytes((CASCADE_TAG,)) + self.uid[:3]
        return [first + bytes((bcc(first),)), self.uid[3:] + bytes((bcc(self.uid[3:]),))]

    def receive(self, frame: Frame, crypto_on: bool) -> Reply | None:
        """Process one frame from the reader; return the answer or None for silence."""
        if self.state is CardState.OFF:
            return None
        self.frames_received += 1
        if frame.is_short:
            return self._request(frame.data[0] & 0x7F)
        if self.state is CardState.READY:
            return self._anticollision(frame)
        if self.state is CardState.ACTIVE:
            if crypto_on != self.authenticated:
                # The frame is (de)ciphered with the wrong stream: garbage to the card.
                self.fall_back()
                return None
            if frame.nbits == 32 and frame.data[:2] == b"\x50\x00" and check_crc(frame.data):
                self.state = CardState.HALT
                self._forget_session()
                return None
            return self.command(frame)
        return None

    def _request(self, code: int) -> Reply | None:
        if (
            code == REQA
            and self.state is CardState.IDLE
            or (code == WUPA and self.state in (CardState.IDLE, CardState.HALT))
        ):
            self.from_halt = self.state is CardState.HALT
            self.state = CardState.READY
            self.level = 1
            self._forget_session()
            return Reply.data(self.ATQA)
        if self.state in (CardState.READY, CardState.ACTIVE):
            self.fall_back()
        return None

    def _anticollision(self, frame: Frame) -> Reply | None:
        data = frame.data
        if frame.nbits < 16 or data[0] != SEL_CODES.get(self.level):
            self.fall_back()
            return None
        nvb = data[1]
        levels = self.cascade_levels()
        mine = levels[self.level - 1]
        if nvb == 0x70:
            if frame.nbits != 72 or not check_crc(data[:9]) or data[2:7] != mine:
                return None  # not for us (or damaged): stay READY and silent
            if self.level == len(levels):
                self.state = CardState.ACTIVE
                sak = self.SAK
            else:
                self.level += 1
                sak = SAK_CASCADE
            return Reply.data(with_crc(bytes((sak,))))
        known = ((nvb >> 4) - 2) * 8 + (nvb & 0x0F)
        if not 0 <= known < 40 or frame.nbits != 16 + known:
            self.fall_back()
            return None
        my_bits = Frame.of(mine).bits()
        if frame.bits()[16:] != my_bits[:known]:
            return None  # another card's UID prefix: keep quiet, stay READY
        return Reply(Frame.from_bits(my_bits[known:]))

    def command(self, frame: Frame) -> Reply | None:
        """ACTIVE-state command of the card family (plaintext; Crypto1 is not modelled)."""
        self.fall_back()
        return None
