"""Whole flows through the real UI loop with synthetic touch events: tap card -> member ->
rewards -> confirm -> voucher -> done -> idle, and inactivity -> idle.

The states come from tests/screens/flow_driver.py (test scaffolding, not kiosk/session.py)."""

from __future__ import annotations

import pygame
import pytest

from kiosk.ui_state import Confirm, Idle, MemberHome, Reading, Rewards, VoucherIssued
from screens.loop import UiLoop, post_reader_event
from tests.screens.conftest import finger
from tests.screens.flow_driver import FlowDriver


@pytest.fixture
def kiosk(make_ui, monotonic):
    pygame.event.clear()
    ui = make_ui((800, 480))
    driver = FlowDriver(monotonic, timeout_s=30.0)
    ui.show(driver.state)
    flips: list[list[pygame.Rect]] = []
    loop = UiLoop(
        ui,
        on_intent=driver.on_intent,
        on_tick=driver.on_tick,
        on_reader_event=driver.on_reader_event,
        monotonic=monotonic,
        sleep=monotonic.advance,
        flip=flips.append,
    )
    loop.step(max_wait_s=0)
    return ui, driver, loop


def touch(ui, loop, monotonic, pos) -> None:
    """Wait a human moment, then a finger down and up at `pos`, each through the loop."""
    for _ in range(5):
        loop.step(max_wait_s=0.2)
    pygame.event.post(finger(pygame.FINGERDOWN, ui, pos))
    loop.step(max_wait_s=0)
    monotonic.advance(0.08)
    pygame.event.post(finger(pygame.FINGERUP, ui, pos))
    loop.step(max_wait_s=0)


def test_card_to_voucher_and_back_to_idle(kiosk, monotonic):
    ui, driver, loop = kiosk
    post_reader_event("presented")
    loop.step(max_wait_s=0)
    assert isinstance(ui.state, Reading)
    post_reader_event("read")
    loop.step(max_wait_s=0)
    assert isinstance(ui.state, MemberHome)

    touch(ui, loop, monotonic, ui.button("openrewards").rect.center)
    assert isinstance(ui.state, Rewards)
    touch(ui, loop, monotonic, ui.screen.list.row_rect(0).center)
    assert isinstance(ui.state, Confirm)
    assert ui.state.option.reward_id == "R10"

    confirm = ui.button("confirmredeem").rect.center
    touch(ui, loop, monotonic, confirm)
    assert isinstance(ui.state, VoucherIssued)
    assert driver.member.points == 12_860 - 1_000

    touch(ui, loop, monotonic, ui.button("done").rect.center)
    assert isinstance(ui.state, Idle)
    assert driver.redeemed == ["I-0001"]


def test_a_shaky_double_touch_on_confirm_redeems_once(kiosk, monotonic):
    ui, driver, loop = kiosk
    post_reader_event("read")
    loop.step(max_wait_s=0)
    touch(ui, loop, monotonic, ui.button("openrewards").rect.center)
    touch(ui, loop, monotonic, ui.screen.list.row_rect(0).center)
    confirm = ui.button("confirmredeem").rect.center
    for _ in range(5):
        loop.step(max_wait_s=0.2)
    for _ in range(2):  # two touches 60 ms apart, as a trembling finger makes them
        pygame.event.post(finger(pygame.FINGERDOWN, ui, confirm))
        pygame.event.post(finger(pygame.FINGERUP, ui, confirm))
        loop.step(max_wait_s=0)
        monotonic.advance(0.06)
    assert driver.redeemed == ["I-0001"]
    assert isinstance(ui.state, VoucherIssued)


def test_inactivity_returns_to_idle(kiosk, monotonic):
    ui, driver, loop = kiosk
    post_reader_event("read")
    loop.step(max_wait_s=0)
    touch(ui, loop, monotonic, ui.button("openrewards").rect.center)
    assert isinstance(ui.state, Rewards)
    started = monotonic()
    while monotonic() - started < 29.0:
        loop.step(max_wait_s=1.0)
    assert isinstance(ui.state, Rewards)
    while monotonic() - started < 31.0:
        loop.step(max_wait_s=1.0)
    assert isinstance(ui.state, Idle)


def test_touching_keeps_the_session_alive(kiosk, monotonic):
    ui, driver, loop = kiosk
    post_reader_event("read")
    loop.step(max_wait_s=0)
    started = monotonic()
    while monotonic() - started < 50.0:
        for _ in range(20):
            loop.step(max_wait_s=1.0)
        # Scrolling the list is activity too (it reaches the session as a Scroll intent).
        if not isinstance(ui.state, Rewards):
            touch(ui, loop, monotonic, ui.button("openrewards").rect.center)
        else:
            touch(ui, loop, monotonic, ui.button("back").rect.center)
    assert not isinstance(ui.state, Idle)
