"""The simulation's card field: demo member cards in an emulated RC522 field, kept across restarts.

The demo cards are real personalized MIFARE Classic images (diversified keys, MAC'd records)
made by the same `kiosk.cards.personalize` staff code, through the real protocol driver, against
the register-level emulator. Their memory is saved in the data directory after every change,
because a card's transaction counter must survive a restart just like the ledger's record of it:
otherwise the next tap would look like a restored old card image (rollback) and be deny-listed.

Keys: 1-7 the demo members (see kiosk.ledger.demo.DEMO_CARDS), 8 a blank card from another
shop (not a member card), 9 an NTAG sticker (only a UID), 0 takes the card away.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, Ntag213
from drivers.mfrc522 import Mfrc522
from drivers.presence import SimulatedPresence
from drivers.session import open_session
from drivers.transport.emulator import EmulatorTransport
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.personalize import personalize
from kiosk.ledger.demo import DEMO_CARDS

_LOG = logging.getLogger(__name__)

FOREIGN_CARD_KEY = 8
STICKER_KEY = 9
FOREIGN_UID = bytes.fromhex("5a6b7c8d")
STICKER_UID = bytes.fromhex("04c0ffee123480")
BLOCKS = 64


def _personalize_on_emulator(
    card: MifareClassic1K, keys: MasterKeys, member_id: str, issue_no: int, faults: CardFaults
) -> None:
    """Run the staff personalization against `card` in a field of its own."""
    field = Field()
    driver = Mfrc522(EmulatorTransport(MFRC522Emulator(field)))
    driver.init()
    field.present(card)
    session = open_session(driver)
    if session is None:
        raise RuntimeError("emulated card did not answer during personalization")
    personalize(session, keys, member_id, issue_no, faults)
    field.remove(card)


class SimulatedCards:
    """The demo cards and the emulated chip the kiosk's reader talks to."""

    def __init__(self, state_file: Path, keys: MasterKeys, faults: CardFaults, *, version: int = 0x92):
        self.state_file = state_file
        self.field = Field()
        self.chip = MFRC522Emulator(self.field, version=version)
        #: the presence sensor, used when config has reader.presence_pin (the shopper sets it)
        self.presence = SimulatedPresence()
        self.cards: dict[int, MifareClassic1K | Ntag213] = {}
        self._present: int | None = None
        saved = self._load()
        for demo in DEMO_CARDS:
            card = MifareClassic1K(demo.uid)
            if demo.uid.hex() in saved:
                for block, data in enumerate(saved[demo.uid.hex()]):
                    card.set_block(block, bytes.fromhex(data))
            else:
                _personalize_on_emulator(card, keys, demo.member_id, demo.issue_no, faults)
            self.cards[demo.key] = card
        self.cards[FOREIGN_CARD_KEY] = MifareClassic1K(FOREIGN_UID)
        self.cards[STICKER_KEY] = Ntag213(STICKER_UID)
        if not saved:
            self.save()

    @property
    def present_key(self) -> int | None:
        return self._present

    def tap(self, key: int) -> bool:
        """Put demo card `key` on the reader (taking any other card away first)."""
        if key not in self.cards:
            return False
        self.remove()
        self.field.present(self.cards[key])
        self._present = key
        return True

    def remove(self) -> None:
        """Take the card away (it may already have left on its own, e.g. a test's tear)."""
        if self._present is not None:
            card = self.cards[self._present]
            if card in self.field.cards:
                self.field.remove(card)
            self._present = None
            self.save()

    def save(self) -> None:
        """Write every Classic card's memory; atomic (temp file + rename) so a crash keeps the old file."""
        with self.field.lock:  # not in the middle of a block write by the reader thread
            data = {
                card.uid.hex(): [card.block(b).hex() for b in range(BLOCKS)]
                for card in self.cards.values()
                if isinstance(card, MifareClassic1K) and card.uid != FOREIGN_UID
            }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.state_file)

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _LOG.warning("simulated cards file unreadable (%s); personalizing fresh demo cards", exc)
            return {}
        return data if isinstance(data, dict) else {}
