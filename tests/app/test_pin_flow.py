"""A PIN before spending through the wired kiosk and the real screens, driven by synthetic touches:
rewards -> choose -> confirm -> the shuffled keypad -> the right PIN redeems; wrong PINs count down
and the last allowed one locks the member's redemptions (a `pin_locked` event waits for HQ), and
the lock holds across a restart of the ledger; a member without a PIN is sent to the service desk.

Real ledger, card code, `KioskService` and `Session` (tests/app/inline_kiosk.py) under the real
`KioskUI` and `UiLoop` (SDL dummy driver); the clock, the touches and the keypad's shuffle (a
seeded RNG) are the test's.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.personalize import personalize
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import DEMO_CARDS, demo_members, demo_rules, seed_demo
from kiosk.ledger.pin_kdf import hash_pin
from kiosk.session import Session
from kiosk.ui_state import (
    PIN_LOCKED,
    PIN_NOT_SET,
    Confirm,
    MemberHome,
    PinEntry,
    Rewards,
    VoucherIssued,
)
from tests.app.flow import touch, ui_under_loop
from tests.app.inline_kiosk import InlineKiosk
from tests.cards.conftest import TEST_MASTER
from tests.cards.reader import FAULTS, Reader

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=TZ)
KEYS = MasterKeys(TEST_MASTER, key_id=3)
CARD = next(card for card in DEMO_CARDS if card.member_id == "M0003")  # 7,200 points
PIN = "2580"
MAX_FAILURES = 3


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


def open_ledger(path) -> Ledger:
    return Ledger.open(
        path, device_id="kiosk-t", clock=FixedClock(), tz=TZ, voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=1_000),
    )  # fmt: skip


def require_pins(ledger: Ledger, *, with_pin: bool) -> None:
    """HQ's next rules ask for a PIN on every redemption; its next snapshot gives M0003 one (or not)."""
    ledger.apply_rules(
        (ledger.rules_version() or 0) + 1, demo_rules() | {"pin": {"required": "always", "max_failures": MAX_FAILURES}}
    )
    members = demo_members(NOW)
    if with_pin:
        members = [m | {"pin_hash": hash_pin(PIN)} if m["member_id"] == CARD.member_id else m for m in members]
    ledger.apply_member_snapshot((ledger.member_snapshot_version() or 0) + 1, members, full=True)


def make_kiosk(ledger: Ledger) -> InlineKiosk:
    card = MifareClassic1K(CARD.uid)
    personalize(Reader().present(card), KEYS, CARD.member_id, CARD.issue_no, FAULTS)
    kiosk = InlineKiosk(ledger, KEYS, card)
    # The same session, with a seeded shuffle so the test knows where each digit is.
    kiosk.session = Session(
        kiosk.service, store_name="Test store", inactivity_timeout_s=60, monotonic=lambda: 0.0, rng=random.Random(21)
    )
    return kiosk


@pytest.fixture
def ledger_path(tmp_path):
    return tmp_path / "ledger.db"


@pytest.fixture
def kiosk(ledger_path):
    ledger = open_ledger(ledger_path)
    seed_demo(ledger, NOW)
    require_pins(ledger, with_pin=True)
    yield make_kiosk(ledger)
    ledger.close()


def make_screen(kiosk: InlineKiosk):
    return ui_under_loop(kiosk, locale="zh_CN", tz=TZ, now=FixedClock().now)


def press(ui, loop, monotonic, key: str) -> None:
    touch(ui, loop, monotonic, ui.button(key).rect.center)


def type_pin(ui, loop, monotonic, pin: str) -> None:
    """A look at the (new) keypad, then the digits in quick succession (0.15 s apart), then OK."""
    for i, digit in enumerate(pin):
        monotonic.advance(0.07)
        touch(ui, loop, monotonic, ui.button(f"digit{digit}").rect.center, pause=5 if i == 0 else 0)
    press(ui, loop, monotonic, "pinsubmit")


def to_keypad(kiosk: InlineKiosk, ui, loop, monotonic) -> PinEntry:
    """Tap the card, open the rewards, choose the first (a visible row), confirm."""
    assert isinstance(kiosk.tap(), MemberHome)
    ui.show(kiosk.session.state)
    press(ui, loop, monotonic, "openrewards")
    assert isinstance(ui.state, Rewards)
    touch(ui, loop, monotonic, ui.screen.list.row_rect(0).center)
    assert isinstance(ui.state, Confirm)
    press(ui, loop, monotonic, "confirmredeem")
    state = ui.state
    assert isinstance(state, PinEntry) and state.blocked is None
    return state


def digit_positions(ui) -> list[int]:
    """The digits in the order the keypad shows them, read off the screen's buttons."""
    keys = [b for b in ui.screen.buttons if b.key.startswith("digit")]
    return [int(b.key.removeprefix("digit")) for b in sorted(keys, key=lambda b: (b.rect.y, b.rect.x))]


def lock_events(ledger: Ledger) -> list[dict]:
    return [e.payload for e in ledger.outbox_pending(100) if e.type == "pin_locked"]


def test_the_right_pin_redeems(kiosk):
    ui, loop, monotonic = make_screen(kiosk)
    keypad = to_keypad(kiosk, ui, loop, monotonic)
    assert sorted(keypad.keys) == list(range(10)) and keypad.keys != tuple(range(10))
    assert digit_positions(ui) == [*keypad.keys[:9], keypad.keys[9]]
    assert not ui.button("pinsubmit").enabled  # fewer than four digits: OK does nothing
    for typed, digit in enumerate(PIN[:3], start=1):
        touch(ui, loop, monotonic, ui.button(f"digit{digit}").rect.center)
        assert ui.state.entered == typed  # dots only: the state never holds the digits
    press(ui, loop, monotonic, "pindelete")
    assert ui.state.entered == 2
    touch(ui, loop, monotonic, ui.button(f"digit{PIN[2]}").rect.center)
    touch(ui, loop, monotonic, ui.button(f"digit{PIN[3]}").rect.center)
    press(ui, loop, monotonic, "pinsubmit")
    assert isinstance(ui.state, VoucherIssued)
    assert ui.state.member.points == 7_200 - keypad.option.cost_points
    assert lock_events(kiosk.ledger) == []


def test_digits_typed_quickly_all_count(kiosk):
    ui, loop, monotonic = make_screen(kiosk)
    to_keypad(kiosk, ui, loop, monotonic)
    type_pin(ui, loop, monotonic, PIN)
    assert isinstance(ui.state, VoucherIssued)


def test_wrong_pins_count_down_reshuffle_and_lock_and_the_lock_holds_after_a_restart(kiosk, ledger_path):
    ui, loop, monotonic = make_screen(kiosk)
    keypad = to_keypad(kiosk, ui, loop, monotonic)
    orders = [keypad.keys]
    for left in range(MAX_FAILURES - 1, 0, -1):
        type_pin(ui, loop, monotonic, "9999")
        state = ui.state
        assert isinstance(state, PinEntry) and state.failures_left == left and state.entered == 0
        orders.append(state.keys)
    assert len(set(orders)) == len(orders)  # a new order for every keypad shown
    assert lock_events(kiosk.ledger) == []
    type_pin(ui, loop, monotonic, "9999")
    assert isinstance(ui.state, PinEntry) and ui.state.blocked == PIN_LOCKED
    assert not any(b.key.startswith("digit") for b in ui.screen.buttons)  # no keypad, the desk instead
    assert lock_events(kiosk.ledger) == [
        {"device_id": "kiosk-t", "member_id": CARD.member_id, "failures": MAX_FAILURES, "card_uid": CARD.uid.hex()}
    ]
    assert ui.state.member.points == 7_200  # nothing was redeemed

    press(ui, loop, monotonic, "back")  # back to the rewards; the member can still look around
    assert isinstance(ui.state, Rewards)
    kiosk.ledger.close()

    # The kiosk restarts: the lock is in the ledger, not in memory.
    reopened = open_ledger(ledger_path)
    try:
        again = make_kiosk(reopened)
        ui, loop, monotonic = make_screen(again)
        assert isinstance(again.tap(), MemberHome)
        ui.show(again.session.state)
        press(ui, loop, monotonic, "openrewards")
        touch(ui, loop, monotonic, ui.screen.list.row_rect(0).center)
        press(ui, loop, monotonic, "confirmredeem")
        assert isinstance(ui.state, PinEntry) and ui.state.blocked == PIN_LOCKED
        assert len(lock_events(reopened)) == 1  # told once
    finally:
        reopened.close()


def test_a_member_without_a_pin_is_sent_to_the_service_desk(ledger_path):
    ledger = open_ledger(ledger_path)
    try:
        seed_demo(ledger, NOW)
        require_pins(ledger, with_pin=False)
        kiosk = make_kiosk(ledger)
        ui, loop, monotonic = make_screen(kiosk)
        assert isinstance(kiosk.tap(), MemberHome)
        ui.show(kiosk.session.state)
        press(ui, loop, monotonic, "openrewards")
        touch(ui, loop, monotonic, ui.screen.list.row_rect(0).center)
        press(ui, loop, monotonic, "confirmredeem")
        assert isinstance(ui.state, PinEntry) and ui.state.blocked == PIN_NOT_SET
        press(ui, loop, monotonic, "done")
        assert kiosk.session.member_id is None
        assert ledger.vouchers(CARD.member_id) == ()
    finally:
        ledger.close()
