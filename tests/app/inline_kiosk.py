"""A kiosk wired as app/bootstrap.py wires it, minus the threads: a shopper's visit step by step.

The real ledger (SQLite), card code (`tap_job`), `KioskService` and `Session`, and the real
protocol driver over the register-level MFRC522 emulator. What the reader thread does is done
inline: a tap runs `tap_job` on the card just presented and hands its outcome to the session; a
redemption's card job (`run_on_card`) runs at once on the card in the field. The card can be
torn out after any number of frames of the next card job, as a hurried shopper does.

`shown_vouchers` collects every voucher the member has seen on a "here is your voucher" screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.ports import TagSession
from kiosk.cards.reading import read_card
from kiosk.cards.tap import TapOutcome, tap_job
from kiosk.ledger import Ledger
from kiosk.model import VoucherView
from kiosk.service import KioskService
from kiosk.session import RedemptionRefused, Session
from kiosk.ui_state import ChooseReward, Confirm, ConfirmRedeem, Done, OpenRewards, Rewards, UiState, VoucherIssued
from tests.cards.reader import FAULTS, Reader

T = TypeVar("T")


class InlineKiosk:
    def __init__(self, ledger: Ledger, keys: MasterKeys, card: MifareClassic1K) -> None:
        self.ledger = ledger
        self.keys = keys
        self.card = card
        self.reader = Reader()
        self.tap_job = tap_job(keys, ledger, FAULTS)
        self.service = KioskService(
            ledger,
            keys,
            FAULTS,
            self._run_on_card,
            ledger.clock.now,
            denylist_max_age=dt.timedelta(hours=72),
            stale_denylist_max_points=100_000,
        )
        self.session = Session(self.service, store_name="Test store", inactivity_timeout_s=60, monotonic=lambda: 0.0)
        self.shown_vouchers: list[str] = []
        self._tear: tuple[int, bool] | None = None

    @property
    def state(self) -> UiState:
        return self.session.state

    # --- the card -------------------------------------------------------------------------

    def _present(self) -> TagSession:
        session = self.reader.present(self.card)
        if self._tear is not None:
            frames, answer_last = self._tear
            self._tear = None
            session.pull_after(frames, answer_last)  # tests/cards/reader.py gives sessions this
        return session

    def tear_next_card_job(self, frames: int, answer_last: bool = True) -> None:
        """The card leaves after `frames` frames of the next card job (answer_last=False: the
        last frame reaches the card, a write lands, but its answer is lost)."""
        self._tear = (frames, answer_last)

    def _run_on_card(self, job: Callable[[TagSession], T]) -> T:
        # The shopper's card is (back) on the reader: the job runs on it at once.
        return job(self._present())

    def card_counter(self) -> int:
        best = read_card(self.reader.present(self.card), self.keys, FAULTS).best()
        assert best is not None, "the card lost its record"
        return best[1].counter

    # --- the shopper ----------------------------------------------------------------------

    def tap(self) -> UiState:
        """Present the card (a new presentation); the session shows what the reader reported."""
        outcome: TapOutcome = self._run_on_card(self.tap_job)
        self.session.card_read(outcome, self.card.uid)
        return self._seen()

    def redeem(self, reward_id: str) -> UiState | None:
        """Rewards -> choose -> confirm, as far as the screens offer it; None if redeem is not offered."""
        self.session.handle(OpenRewards())
        if not isinstance(self.state, Rewards):
            return None
        self.session.handle(ChooseReward(reward_id))
        confirm = self.state
        assert isinstance(confirm, Confirm), confirm
        self.session.handle(ConfirmRedeem(confirm.intent_id))
        return self._seen()

    def redeem_past_the_screens(self, reward_id: str, intent_id: str) -> VoucherView | RedemptionRefused:
        """Ask the service to redeem as a screen still offering "redeem" would; a voucher counts as seen."""
        assert self.session.member_id is not None, "no member session open"
        try:
            voucher = self.service.redeem(intent_id, self.session.member_id, reward_id, self.card.uid, False)
        except RedemptionRefused as refused:
            return refused
        self.shown_vouchers.append(voucher.voucher_id)
        return voucher

    def done(self) -> None:
        """The shopper presses done and takes the card away."""
        self.session.handle(Done())

    def _seen(self) -> UiState:
        state = self.state
        if isinstance(state, VoucherIssued):
            self.shown_vouchers.append(state.voucher.voucher_id)
        return state


def snapshot_card(card: MifareClassic1K) -> list[bytes]:
    return [card.block(n) for n in range(64)]


def card_from(uid: bytes, image: list[bytes]) -> MifareClassic1K:
    card = MifareClassic1K(uid)
    for n, data in enumerate(image):
        card.set_block(n, data)
    return card
