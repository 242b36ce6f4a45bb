"""A TagSession over an emulated card, driven frame by frame (ISO 14443-3 select, MIFARE commands).

Stop-gap until the real protocol driver over the register-level MFRC522 emulator is in the tree:
the card side (states, keys, access bits, NAKs, falling back to IDLE after a refused key) is the
real emulator; only the reader side is this short frame sequencer. `pull_after` takes the card
out of the field after that many more frames, like `field.remove_after_frames`.
"""

from __future__ import annotations

from drivers.crc import check_crc, with_crc
from drivers.emulator.cards import AuthOutcome, Iso14443Card
from drivers.emulator.cards.iso14443 import CardState
from drivers.emulator.rf import ACK, Frame
from drivers.errors import AuthError, CardTimeout, FrameError, NakError, ReaderError

from kiosk.cards.errors import CardFaults

FAULTS = CardFaults(io=(ReaderError,), wrong_key=(AuthError,))
_SEL = (0x93, 0x95, 0x97)


class FrameSession:
    def __init__(self, card: Iso14443Card, pull_after: int | None = None) -> None:
        self.card = card
        self.frames_left = pull_after
        self.crypto_on = False
        card.power_on()  # a new presentation: the card enters the field fresh
        self.uid = card.uid
        self.card_type = card.card_type
        self.reselect()

    def pull_after(self, frames: int | None) -> None:
        self.frames_left = frames

    def _send(self, frame: Frame):
        if self.frames_left is not None:
            if self.frames_left <= 0:
                self.card.power_off()
            self.frames_left -= 1
        if self.card.state is CardState.OFF:
            raise CardTimeout("no card in the field")
        return self.card.receive(frame, self.crypto_on)

    def reselect(self) -> None:
        self.crypto_on = False
        if self._send(Frame.of(bytes((0x52,)), 7)) is None:
            raise CardTimeout("no answer to WUPA")
        for level, cl in enumerate(self.card.cascade_levels()):
            reply = self._send(Frame.of(with_crc(bytes((_SEL[level], 0x70)) + cl)))
            if reply is None:
                raise CardTimeout("no answer to SELECT")

    def authenticate(self, block: int, key: bytes, key_type: str = "A") -> None:
        if self.frames_left is not None:
            if self.frames_left <= 0:
                self.card.power_off()
            self.frames_left -= 1
        outcome = self.card.authenticate(0x60 if key_type == "A" else 0x61, block, key, self.uid[:4],
                                         self.crypto_on)
        if outcome is AuthOutcome.OK:
            self.crypto_on = True
            return
        self.crypto_on = False
        if outcome is AuthOutcome.REJECTED:
            raise AuthError(f"key refused for block {block}")
        raise CardTimeout("no answer to AUTH")

    def read_block(self, block: int) -> bytes:
        reply = self._send(Frame.of(with_crc(bytes((0x30, block)))))
        if reply is None:
            raise CardTimeout("no answer to READ")
        if reply.frame.nbits == 4:
            self.crypto_on = False
            raise NakError("READ refused", reply.frame.data[0])
        if not check_crc(reply.frame.data) or len(reply.frame.data) != 18:
            raise FrameError("bad READ answer")
        return reply.frame.data[:16]

    def write_block(self, block: int, data: bytes) -> None:
        for frame in (bytes((0xA0, block)), bytes(data)):
            reply = self._send(Frame.of(with_crc(frame)))
            if reply is None:
                raise CardTimeout("no answer to WRITE")
            if reply.frame.nbits != 4 or reply.frame.data[0] != ACK:
                self.crypto_on = False
                raise NakError("WRITE refused", reply.frame.data[0])

    def read_pages(self, page: int) -> bytes:
        reply = self._send(Frame.of(with_crc(bytes((0x30, page)))))
        if reply is None:
            raise CardTimeout("no answer to READ")
        return reply.frame.data[:16]
