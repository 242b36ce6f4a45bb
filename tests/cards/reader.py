"""The real reader stack for card-security tests: register-level MFRC522 emulator, the protocol
driver and its TagSession. `present(card)` puts the card alone in the field and selects it."""

from __future__ import annotations

from drivers.emulator import Field, MFRC522Emulator
from drivers.errors import AuthError, ReaderError
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport.emulator import EmulatorTransport
from kiosk.cards.errors import CardFaults

# What app/bootstrap.py passes too: the driver's root error, and the one meaning "key refused".
FAULTS = CardFaults(io=(ReaderError,), wrong_key=(AuthError,))


class Reader:
    def __init__(self) -> None:
        self.field = Field()
        self.chip = MFRC522Emulator(self.field)
        self.driver = Mfrc522(EmulatorTransport(self.chip))
        self.driver.init()

    def present(self, card, pull_after: int | None = None, answer_last: bool = True):
        """The card enters the field (alone) and is selected; optionally it leaves after
        `pull_after` more reader frames (answer_last=False: it takes in the last frame, a write
        lands, but leaves before answering)."""
        self.field.remove_all()
        self.field.present(card)
        session = open_session(self.driver)
        assert session is not None, "card did not answer"
        if pull_after is not None:
            self.field.remove_after_frames(card, pull_after, answer_last=answer_last)
        session.pull_after = lambda frames, answer_last=True: self.field.remove_after_frames(
            card, frames, answer_last=answer_last
        )
        return session
