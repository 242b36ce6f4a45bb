"""The RF field in front of the emulated antenna: which cards are in it and what goes wrong.

Tests script physical events here: `present(card)`, `remove(card)`, `remove_after_frames(card, n)`
(the card leaves after n more reader frames reach it: count an operation's frames with
`card.frames_received`, then tear at every k), `corrupt_next_frames(n)` (answers damaged so only
CRC_A catches them, or parity errors the chip flags), `delay_next_answers(n, s)` (answers that
start late, after the reader's timer may have fired), and two cards at once (collisions).
`sent_frames` keeps the last frames the reader put on the air, to check what actually went out.

Physical events may come from another thread than the one driving the chip: in the simulation the
UI thread puts cards down and takes them away while the reader thread is mid-exchange. One lock
makes each event and each reader frame whole, as they are in the physical world: a card is in the
field for a whole frame or not at all, and never half-registered (in the card list but without its
entry time) or powered off while it is answering.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from drivers.emulator.cards.classic import AuthOutcome, MifareClassic1K
from drivers.emulator.cards.iso14443 import Iso14443Card
from drivers.emulator.rf import Frame, Reception, Reply, merge
from drivers.emulator.timing import TimingModel

_LOG = logging.getLogger(__name__)

CORRUPTIONS = ("crc", "parity")


@dataclass
class _Tear:
    frames_left: int
    answer_last: bool


class Field:
    """Cards in the field of one emulated reader. Cards answer only while the antenna is on."""

    def __init__(self) -> None:
        self._cards: list[Iso14443Card] = []
        self._entered_at: dict[int, float] = {}
        self._tears: dict[int, _Tear] = {}
        self._corruptions: list[str] = []
        self._delays: list[float] = []
        self.sent_frames: deque[Frame] = deque(maxlen=64)
        self.powered = False
        self.frames_sent = 0
        self._clock: Callable[[], float] = lambda: 0.0
        self._timing = TimingModel()
        # Reentrant: a frame that tears a card away calls remove() while holding it.
        self.lock = threading.RLock()

    def attach(self, clock: Callable[[], float], timing: TimingModel) -> None:
        """Called by the chip that owns the antenna: modelled time and card power-up delay."""
        self._clock = clock
        self._timing = timing

    @property
    def cards(self) -> tuple[Iso14443Card, ...]:
        return tuple(self._cards)

    # --- physical events ------------------------------------------------------------------------
    def present(self, card: Iso14443Card) -> None:
        with self.lock:
            if card in self._cards:
                raise ValueError(f"{card!r} is already in the field")
            self._cards.append(card)
            self._entered_at[id(card)] = self._clock()
            if self.powered:
                card.power_on()

    def remove(self, card: Iso14443Card) -> None:
        with self.lock:
            if card not in self._cards:
                raise ValueError(f"{card!r} is not in the field")
            self._cards.remove(card)
            self._entered_at.pop(id(card), None)
            self._tears.pop(id(card), None)
            card.power_off()

    def remove_all(self) -> None:
        with self.lock:
            for card in list(self._cards):
                self.remove(card)

    def remove_after_frames(self, card: Iso14443Card, frames: int, *, answer_last: bool = True) -> None:
        """Let `frames` more reader frames reach `card`, then take it away.

        With answer_last=False the card processes its last frame (a write is stored) but leaves
        before its answer gets back: the "written but not acknowledged" tear.
        """
        with self.lock:
            if card not in self._cards:
                raise ValueError(f"{card!r} is not in the field")
            if frames < 0:
                raise ValueError("frames must be >= 0")
            self._tears[id(card)] = _Tear(frames, answer_last)

    def corrupt_next_frames(self, count: int = 1, kind: str = "crc") -> None:
        """Damage the next `count` card answers: "crc" flips a bit (parity kept, so only CRC_A or
        the BCC notices), "parity" makes the chip report a parity error."""
        with self.lock:
            if kind not in CORRUPTIONS:
                raise ValueError(f"kind must be one of {CORRUPTIONS}")
            self._corruptions.extend([kind] * count)

    def delay_next_answers(self, count: int = 1, seconds: float = 0.001) -> None:
        """Make the next `count` card answers start `seconds` later than the ISO frame delay."""
        with self.lock:
            if seconds < 0:
                raise ValueError("seconds must be >= 0")
            self._delays.extend([seconds] * count)

    def set_power(self, on: bool) -> None:
        """Antenna switched on or off: cards lose power, and come back in IDLE."""
        with self.lock:
            if on == self.powered:
                return
            self.powered = on
            for card in self._cards:
                if on:
                    card.power_on()
                    self._entered_at[id(card)] = min(self._entered_at[id(card)], self._clock())
                else:
                    card.power_off()

    # --- called by the chip ---------------------------------------------------------------------
    def exchange(self, frame: Frame, crypto_on: bool) -> Reception | None:
        """Deliver one reader frame to every powered card; merge whatever comes back."""
        with self.lock:
            self.frames_sent += 1
            self.sent_frames.append(frame)
            replies: list[Reply] = []
            for card in self._listeners():
                reply = card.receive(frame, crypto_on)
                if self._count_frames(card, 1):
                    reply = reply if self._tears_answer(card) else None
                    self.remove(card)
                if reply is not None:
                    replies.append(reply)
            if not replies:
                return None
            reception = self._damage(merge(replies))
            if self._delays:
                reception = replace(reception, delay_s=reception.delay_s + self._delays.pop(0))
            return reception

    def authenticate(self, command: int, block: int, key: bytes, uid4: bytes, crypto_on: bool) -> AuthOutcome:
        """MFAuthent's two reader frames to the selected Classic card, reduced to the outcome."""
        with self.lock:
            self.frames_sent += 2
            for card in self._listeners():
                if not isinstance(card, MifareClassic1K):
                    continue
                tear = self._tears.get(id(card))
                if tear is not None and tear.frames_left < 2:
                    # The AUTH command may reach it, but it is gone before the reader's answer.
                    card.frames_received += tear.frames_left
                    self.remove(card)
                    return AuthOutcome.NO_ANSWER
                outcome = card.authenticate(command, block, key, uid4, crypto_on)
                if outcome is AuthOutcome.NO_ANSWER:
                    continue
                if self._count_frames(card, 2):
                    answered = self._tears_answer(card)
                    self.remove(card)
                    if not answered:
                        return AuthOutcome.NO_ANSWER
                return outcome
            return AuthOutcome.NO_ANSWER

    def _listeners(self) -> list[Iso14443Card]:
        if not self.powered:
            return []
        now = self._clock()
        ready = []
        for card in list(self._cards):
            tear = self._tears.get(id(card))
            if tear is not None and tear.frames_left == 0:
                self.remove(card)
                continue
            if now >= self._entered_at[id(card)] + self._timing.card_power_up_s:
                ready.append(card)
        return ready

    def _count_frames(self, card: Iso14443Card, frames: int) -> bool:
        """True if this was the card's last frame before it leaves."""
        tear = self._tears.get(id(card))
        if tear is None:
            return False
        tear.frames_left -= frames
        return tear.frames_left <= 0

    def _tears_answer(self, card: Iso14443Card) -> bool:
        tear = self._tears.get(id(card))
        return tear is None or tear.answer_last

    def _damage(self, reception: Reception) -> Reception:
        if not self._corruptions:
            return reception
        kind = self._corruptions.pop(0)
        _LOG.debug("corrupting card answer (%s)", kind)
        if kind == "parity":
            return replace(reception, parity_error=True)
        data = bytearray(reception.frame.data)
        data[len(data) // 2] ^= 0x02 if reception.frame.nbits > 4 else 0x01
        return replace(reception, frame=Frame(bytes(data), reception.frame.nbits))
