"""积分明细 through the wired kiosk and the real screens, driven by synthetic touches: the member
screen's "Points history" button opens the history the ledger holds (HQ's items and this kiosk's
unconfirmed redemption, marked pending), a drag scrolls it, and "Back" returns to the member.

Real ledger, card code, `KioskService` and `Session` (tests/app/inline_kiosk.py) under the real
`KioskUI` and `UiLoop` (SDL dummy driver); only the clock and the touches are the test's.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pygame
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.personalize import personalize
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import DEMO_CARDS, DEMO_STORE, seed_demo
from kiosk.ui_state import Back, MemberHistory, MemberHome, VoucherIssued
from tests.app.flow import touch, ui_under_loop
from tests.app.inline_kiosk import InlineKiosk
from tests.cards.conftest import TEST_MASTER
from tests.cards.reader import FAULTS, Reader
from tests.screens.conftest import finger

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=TZ)
KEYS = MasterKeys(TEST_MASTER, key_id=3)
CARD = next(card for card in DEMO_CARDS if card.member_id == "M0003")  # 7,200 points, two lots


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


@pytest.fixture
def kiosk(tmp_path):
    ledger = Ledger.open(
        tmp_path / "ledger.db", device_id="kiosk-t", clock=FixedClock(), tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=1_000),
    )  # fmt: skip
    seed_demo(ledger, NOW)
    card = MifareClassic1K(CARD.uid)
    personalize(Reader().present(card), KEYS, CARD.member_id, CARD.issue_no, FAULTS)
    yield InlineKiosk(ledger, KEYS, card)
    ledger.close()


@pytest.fixture
def screen(kiosk):
    """The kiosk's session under the real UI on the 7" panel, through the loop the app runs."""
    return ui_under_loop(kiosk, locale="en", tz=TZ, now=FixedClock().now)


def drag_up(ui, loop, monotonic, start, distance: int) -> None:
    for _ in range(5):
        loop.step(max_wait_s=0.2)
    pygame.event.post(finger(pygame.FINGERDOWN, ui, start))
    loop.step(max_wait_s=0)
    for step in range(1, 11):
        monotonic.advance(0.02)
        pygame.event.post(finger(pygame.FINGERMOTION, ui, (start[0], start[1] - distance * step // 10)))
        loop.step(max_wait_s=0)
    pygame.event.post(finger(pygame.FINGERUP, ui, (start[0], start[1] - distance)))
    loop.step(max_wait_s=0)


def test_points_history_from_the_member_screen_and_back(kiosk, screen):
    ui, loop, monotonic = screen
    assert isinstance(kiosk.tap(), MemberHome)
    assert isinstance(kiosk.redeem("off-10"), VoucherIssued)  # HQ has not heard of it yet
    kiosk.session.handle(Back())
    ui.show(kiosk.session.state)
    loop.step(max_wait_s=0)
    assert isinstance(ui.state, MemberHome)

    touch(ui, loop, monotonic, ui.button("openhistory").rect.center)
    state = ui.state
    assert isinstance(state, MemberHistory) and state.member.member_id == CARD.member_id
    assert [(i.kind, i.points, i.place, i.pending) for i in state.items] == [
        ("redemption", -1_000, "kiosk-t", True),  # this kiosk's, pending until HQ confirms it
        ("earn", 5_200, DEMO_STORE, False),
        ("expire", -150, None, False),
        ("earn", 2_000, DEMO_STORE, False),
    ]
    assert [i.at for i in state.items] == sorted((i.at for i in state.items), reverse=True)

    listed = ui.screen.list
    assert listed.count == 4 and listed.max_offset > 60  # four rows do not fit 800x480
    drag_up(ui, loop, monotonic, listed.row_rect(0).center, 60)
    assert isinstance(ui.state, MemberHistory)  # a drag scrolls; it opens nothing
    assert listed.offset == pytest.approx(60, abs=1)

    touch(ui, loop, monotonic, ui.button("back").rect.center)
    assert isinstance(ui.state, MemberHome) and ui.state.member.member_id == CARD.member_id
    assert ui.state.member.points == 7_200 - 1_000


def test_done_on_the_history_ends_the_session(kiosk, screen):
    ui, loop, monotonic = screen
    kiosk.tap()
    ui.show(kiosk.session.state)
    touch(ui, loop, monotonic, ui.button("openhistory").rect.center)
    assert isinstance(ui.state, MemberHistory)
    touch(ui, loop, monotonic, ui.button("done").rect.center)
    assert kiosk.session.member_id is None and not isinstance(ui.state, (MemberHistory, MemberHome))
