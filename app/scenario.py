"""The headless scenario of `kiosk run --headless`: a scripted visit, one PNG per screen.

Everything is the real kiosk: cards are put into the emulated RC522 field and read by the reader
thread through the protocol driver, verified by the card checks, looked up in the SQLite ledger;
intents go through the same `Session.handle` the touchscreen uses; screens are drawn by pygame
(dummy video driver) and saved. Nothing is faked for the pictures.

Script: idle -> tap card 1 -> member -> rewards -> confirm -> voucher -> my vouchers -> points
history (the redemption just made, pending) -> done -> idle; lost card (blocked); a card from
another shop (not a member card); an NTAG sticker; card 2 in English (birthday: its gift claimed) -> check-in -> the
prize wheel (one spin, the prize it stopped on) -> rewards -> a reward behind the PIN (keypad, the
demo PIN, the voucher) -> idle. Returns 0
when every step reached its expected screen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame

from app.errors import AppError
from kiosk.ledger.demo import DEMO_PIN
from kiosk.model import NoticeKind
from kiosk.ui_state import (
    Back,
    CheckedIn,
    CheckIn,
    ChooseReward,
    ClaimBirthdayGift,
    Confirm,
    ConfirmRedeem,
    Done,
    Idle,
    MemberHistory,
    MemberHome,
    MyVouchers,
    Notice,
    OpenHistory,
    OpenRewards,
    OpenVouchers,
    OpenWheel,
    PinDigit,
    PinEntry,
    PinSubmit,
    Rewards,
    SpinWheel,
    ToggleLocale,
    UiState,
    VoucherIssued,
    WheelSpin,
)

_LOG = logging.getLogger(__name__)

STEP_TIMEOUT_S = 5.0
LOST_CARD_KEY = 5
FOREIGN_CARD_KEY = 8
STICKER_KEY = 9


class ScenarioFailed(AppError, RuntimeError):
    """A step did not reach the screen it expects."""


class Scenario:
    def __init__(self, app: Any, ui: Any, out_dir: Path):
        self.app = app
        self.ui = ui
        self.out_dir = out_dir
        self.written: list[Path] = []

    # --- plumbing ------------------------------------------------------------------------------

    def pump_until(self, done: Callable[[UiState], bool], what: str) -> UiState:
        """Deliver reader events to the session until `done(state)` or the step times out."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            self.app.drain_reader_events()
            self.app.tick()
            state = self.app.session.state
            if done(state):
                return state
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"{what}: still on {type(state).__name__} after {STEP_TIMEOUT_S:.0f} s")
            time.sleep(0.01)

    def shot(self, name: str) -> Path:
        self.ui.show(self.app.session.state)
        self.ui.update(time.monotonic())
        self.ui.draw()
        path = self.ui.render_png(self.out_dir / f"{len(self.written) + 1:02d}-{name}.png")
        self.written.append(path)
        _LOG.info("scenario: %s", path)
        return path

    def intent(self, intent: Any) -> UiState:
        self.app.session.handle(intent)
        return self.app.session.state

    def tap(self, key: int) -> None:
        self.app.simulation.tap(key)

    def remove(self) -> None:
        self.app.simulation.remove()
        # The reader reports removal after its cooldown; wait for it so the next tap is a new one.
        self.pump_until(lambda s: self.app.reader.present_uid is None, "card removal")
        self.intent(Done())  # dismiss whatever the card left on screen, as a shopper's touch would

    # --- the visit -----------------------------------------------------------------------------

    def run(self) -> None:
        self.pump_until(lambda s: isinstance(s, Idle) and self.app.reader.health.state == "ok", "reader start")
        self.shot("idle")

        self.tap(1)
        member = self.pump_until(lambda s: isinstance(s, (MemberHome, Notice)), "tap card 1")
        if not isinstance(member, MemberHome):
            raise ScenarioFailed(f"card 1 should open the member screen, got {member}")
        self.shot("member")

        rewards = self.intent(OpenRewards())
        assert isinstance(rewards, Rewards)
        self.shot("rewards")
        choice = next((o for o in rewards.options if o.affordable and o.available), None)
        if choice is None:
            raise ScenarioFailed("demo member 1 can afford no reward")
        confirm = self.intent(ChooseReward(choice.reward_id))
        assert isinstance(confirm, Confirm)
        self.shot("confirm")
        voucher = self.intent(ConfirmRedeem(confirm.intent_id))
        if not isinstance(voucher, VoucherIssued):
            raise ScenarioFailed(f"redemption should issue a voucher, got {voucher}")
        self.shot("voucher")
        mine = self.intent(OpenVouchers())
        assert isinstance(mine, MyVouchers)
        self.shot("my-vouchers")
        history = self.intent(OpenHistory())
        if not (isinstance(history, MemberHistory) and any(item.pending for item in history.items)):
            raise ScenarioFailed(f"the points history should list the redemption as pending, got {history}")
        self.shot("history")
        self.intent(Done())
        self.remove()
        self.shot("idle-after-session")

        self.tap(LOST_CARD_KEY)
        blocked = self.pump_until(lambda s: isinstance(s, (Notice, MemberHome)), "tap the lost card")
        self._expect_notice(blocked, NoticeKind.CARD_BLOCKED)
        self.shot("card-blocked")
        self.remove()

        self.tap(FOREIGN_CARD_KEY)
        foreign = self.pump_until(lambda s: isinstance(s, (Notice, MemberHome)), "tap a foreign card")
        self._expect_notice(foreign, NoticeKind.NOT_A_MEMBER_CARD)
        self.shot("not-a-member-card")
        self.remove()

        self.tap(STICKER_KEY)
        sticker = self.pump_until(lambda s: isinstance(s, (Notice, MemberHome)), "tap an NTAG sticker")
        self._expect_notice(sticker, NoticeKind.NOT_A_MEMBER_CARD)
        self.remove()

        self.intent(ToggleLocale())
        self.ui.set_locale("en")
        self.tap(2)
        home = self.pump_until(lambda s: isinstance(s, MemberHome), "tap card 2")
        self.shot("member-en")
        self._claim_birthday_gift(home)
        self._check_in(home)
        self.shot("checked-in-en")
        self.intent(Back())
        self._spin_the_wheel()
        self.intent(Back())
        self.intent(OpenRewards())
        self.shot("rewards-en")
        self._redeem_with_pin()
        self.intent(Done())
        self.remove()
        self.shot("idle-en")

    def _check_in(self, home: UiState) -> None:
        """每日签到. A second run on the same store day finds it done: the member screen then says so."""
        assert isinstance(home, MemberHome)
        if home.member.checkin is None:
            raise ScenarioFailed("the demo rules should offer a daily check-in")
        if home.member.checkin.checked_in_today:
            return
        checked = self.intent(CheckIn())
        if not isinstance(checked, CheckedIn) or checked.result.points <= 0:
            raise ScenarioFailed(f"check-in should earn points, got {checked}")

    def _claim_birthday_gift(self, home: UiState) -> None:
        """Card 2's birthday is today: the banner claims the rules' gift, once a year."""
        assert isinstance(home, MemberHome)
        gift = home.member.birthday_gift
        if gift is None:
            raise ScenarioFailed("the demo rules should offer card 2 a birthday gift today")
        if gift.claimed:  # a second run this year
            return
        voucher = self.intent(ClaimBirthdayGift())
        if not isinstance(voucher, VoucherIssued):
            raise ScenarioFailed(f"the birthday gift should be a voucher, got {voucher}")
        self.shot("birthday-gift-en")
        self.intent(Back())

    def _spin_the_wheel(self) -> None:
        """幸运大转盘: the wheel, one spin (free the first time a store day), the prize it stopped on."""
        wheel = self.intent(OpenWheel())
        if not isinstance(wheel, WheelSpin):
            raise ScenarioFailed(f"the demo rules should offer the prize wheel, got {wheel}")
        self.shot("wheel-en")
        if not wheel.status.can_spin:  # a run past the day's paid spins: the screen says why
            _LOG.info("scenario: no spin left today (%s)", wheel.status.reason)
            return
        turning = self.intent(SpinWheel(wheel.spin_id))
        if not isinstance(turning, WheelSpin) or turning.result is None:
            raise ScenarioFailed(f"a spin should give a result, got {turning}")
        self.pump_until(lambda s: isinstance(s, WheelSpin) and s.revealed, "the wheel stopping")
        self.shot("wheel-prize-en")

    def _redeem_with_pin(self) -> None:
        """The demo rules ask silver members (card 2) for their PIN: the keypad (its keys in a new
        order every time), the demo PIN typed on it, the voucher. The cheapest reward, so an offline
        kiosk without a deny-list yet may still redeem it (ledger.stale_denylist_max_points)."""
        rewards = self.app.session.state
        assert isinstance(rewards, Rewards)
        usable = [o for o in rewards.options if o.affordable and o.available]
        if not usable:  # a run that used up card 2's points or limits
            _LOG.info("scenario: no reward left for card 2 today")
            return
        choice = min(usable, key=lambda o: o.cost_points)
        confirm = self.intent(ChooseReward(choice.reward_id))
        assert isinstance(confirm, Confirm)
        keypad = self.intent(ConfirmRedeem(confirm.intent_id))
        if not isinstance(keypad, PinEntry) or keypad.blocked is not None:
            raise ScenarioFailed(f"the demo rules should ask card 2 for the PIN, got {keypad}")
        for digit in DEMO_PIN[:2]:
            self.intent(PinDigit(int(digit)))
        self.shot("pin-en")
        for digit in DEMO_PIN[2:]:
            self.intent(PinDigit(int(digit)))
        voucher = self.intent(PinSubmit())
        if not isinstance(voucher, VoucherIssued):
            raise ScenarioFailed(f"the right PIN should issue the voucher, got {voucher}")
        self.shot("voucher-en")
        self.intent(Back())
        self.intent(OpenRewards())

    @staticmethod
    def _expect_notice(state: UiState, kind: NoticeKind) -> None:
        if not (isinstance(state, Notice) and state.kind is kind):
            raise ScenarioFailed(f"expected the {kind.value} notice, got {state}")


def run_scenario(app: Any, out_dir: Path) -> int:
    """Play the scenario headless and write its PNGs to `out_dir`; 0 on success, 1 on failure."""

    config = app.config
    display = config.display
    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.set_mode((display.width, display.height))
    ui = app.kiosk_ui(surface)
    out_dir.mkdir(parents=True, exist_ok=True)
    scenario = Scenario(app, ui, out_dir)
    app.reader_thread.start()
    try:
        scenario.run()
    except ScenarioFailed as failed:
        print(f"scenario failed: {failed}")
        return 1
    finally:
        pygame.display.quit()
    for path in scenario.written:
        print(path)
    print(f"{len(scenario.written)} screens written to {out_dir}")
    return 0
