"""The emulated field is shared by two threads in the simulation: the UI thread puts cards down and
takes them away while the reader thread sends frames. Each physical event and each frame is whole.

The interleavings are forced, not hoped for: the field calls its clock while it registers a card,
and these tests run the other thread's frame from inside that call.
"""

from __future__ import annotations

import threading

from drivers.emulator import MifareClassic1K
from drivers.emulator.field import Field
from drivers.emulator.rf import Frame
from drivers.emulator.timing import TimingModel

REQA = Frame(b"\x26", 7)
UID = bytes.fromhex("a1b2c3d4")


class _FrameFromOtherThread:
    """A clock that, the first time it is read, sends REQA from another thread and waits a little."""

    def __init__(self, field: Field) -> None:
        self.field = field
        self.answers: list[object] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        try:
            self.answers.append(self.field.exchange(REQA, False))
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever the frame raised
            self.errors.append(exc)

    def __call__(self) -> float:
        if self.thread.ident is None:
            self.thread.start()
            self.thread.join(0.2)  # long enough for an unguarded frame to run right now
        return 0.0


def test_a_frame_sent_while_a_card_is_put_down_sees_the_whole_card():
    field = Field()
    field.set_power(True)
    clock = _FrameFromOtherThread(field)
    field.attach(clock, TimingModel())

    field.present(MifareClassic1K(UID))
    clock.thread.join(2.0)

    assert clock.errors == []
    assert clock.answers and clock.answers[0] is not None  # the card answered the REQA: ATQA


class _TakenAwayWhileAnswering(MifareClassic1K):
    """While it forms its answer, the UI thread tries to take it away (and is made to wait)."""

    def __init__(self, uid: bytes) -> None:
        super().__init__(uid)
        self.field: Field | None = None
        self.remover: threading.Thread | None = None
        self.steps: list[str] = []

    def receive(self, frame, crypto_on):
        if self.remover is None and self.field is not None:
            field = self.field
            self.remover = threading.Thread(target=lambda: (field.remove(self), self.steps.append("removed")))
            self.remover.start()
            self.remover.join(0.2)  # long enough for an unguarded removal to happen right now
        self.steps.append("answered")
        return super().receive(frame, crypto_on)


def test_a_card_taken_away_while_a_frame_runs_leaves_after_that_frame():
    field = Field()
    field.set_power(True)
    card = _TakenAwayWhileAnswering(UID)
    field.present(card)
    card.field = field

    answer = field.exchange(REQA, False)
    assert card.remover is not None
    card.remover.join(2.0)

    assert answer is not None
    assert card.steps == ["answered", "removed"]
    assert field.cards == ()
