"""The prize wheel (幸运大转盘) through the wired kiosk and the real screens, driven by synthetic
touches: the member screen's wheel button opens the wheel, "Spin" records the spin in the ledger
(a `wheel_spin` event) and starts the light, which stops on the recorded prize; then the prize
shows, and the next spin costs the rules' price. The animation only runs while the wheel turns.

Real ledger, card code, `KioskService` and `Session` (tests/app/inline_kiosk.py) under the real
`KioskUI` and `UiLoop` (SDL dummy driver); only the clocks, the draw's randomness and the touches
are the test's.
"""

from __future__ import annotations

import random

from kiosk.session import Session
from kiosk.ui_state import SPIN_SECONDS, Back, MemberHome, WheelSpin
from screens.member import WHEEL_KEY
from screens.wheel import WheelLight
from tests.app.flow import touch
from tests.app.test_history_flow import kiosk, screen  # noqa: F401 - fixtures shared

__all__ = ["kiosk", "screen"]


def spins(kiosk):
    return [e for e in kiosk.ledger.outbox_pending(100) if e.type == "wheel_spin"]


def wire(kiosk, loop, monotonic, seed=7):
    """The session on the loop's clock, with ticks, as app/kiosk_app.py runs it."""
    kiosk.session = Session(
        kiosk.service, store_name="Test store", inactivity_timeout_s=60, monotonic=monotonic, rng=random.Random(seed)
    )
    kiosk.session.set_online(True)

    def on_tick(now):
        kiosk.session.tick()
        return kiosk.session.state

    loop.on_tick = on_tick


def open_wheel(kiosk, screen):
    ui, loop, monotonic = screen
    wire(kiosk, loop, monotonic)
    assert isinstance(kiosk.tap(), MemberHome)
    ui.show(kiosk.session.state)
    touch(ui, loop, monotonic, ui.button(WHEEL_KEY).rect.center)
    assert isinstance(ui.state, WheelSpin) and ui.state.result is None
    return ui, loop, monotonic


def run_until_revealed(ui, loop, monotonic):
    """Run the loop until the prize shows; returns the light's steps as painted."""
    seen = []
    light = next(part for part in ui.screen.dynamic if isinstance(part, WheelLight))
    deadline = monotonic() + SPIN_SECONDS + 2
    while not ui.state.revealed and monotonic() < deadline:
        loop.step(max_wait_s=0.5)
        if seen[-1:] != [light.step]:
            seen.append(light.step)
    return light, seen


def test_a_spin_is_recorded_first_then_the_light_stops_on_that_prize(kiosk, screen):
    ui, loop, monotonic = open_wheel(kiosk, screen)
    points_before = ui.state.member.points
    touch(ui, loop, monotonic, ui.button("spin").rect.center)
    state = ui.state
    assert isinstance(state, WheelSpin) and state.result is not None and not state.revealed
    (event,) = spins(kiosk)  # recorded before the wheel turns
    assert event.payload["prize_id"] == state.result.prize_id and event.payload["free"] is True
    light, steps = run_until_revealed(ui, loop, monotonic)
    assert ui.state.revealed and ui.state.result == state.result
    assert steps == sorted(steps) and len(steps) > 10  # the light moved on, step by step
    assert light.step % len(state.status.segments) == state.result.segment
    assert ui.state.member.points == points_before + state.result.points


def test_while_the_wheel_turns_there_is_no_spin_button_and_back_waits(kiosk, screen):
    ui, loop, monotonic = open_wheel(kiosk, screen)
    touch(ui, loop, monotonic, ui.button("spin").rect.center)
    assert "spin" not in [b.key for b in ui.screen.buttons]
    kiosk.session.handle(Back())
    assert isinstance(kiosk.session.state, WheelSpin)


def test_the_second_spin_costs_the_rules_price(kiosk, screen):
    ui, loop, monotonic = open_wheel(kiosk, screen)
    touch(ui, loop, monotonic, ui.button("spin").rect.center)
    run_until_revealed(ui, loop, monotonic)
    assert ui.state.status.cost_points == 5
    points_before = ui.state.member.points
    touch(ui, loop, monotonic, ui.button("spin").rect.center)
    result = ui.state.result
    assert (result.free, result.cost_points) == (False, 5)
    run_until_revealed(ui, loop, monotonic)
    assert ui.state.member.points == points_before - 5 + result.points
    assert len(spins(kiosk)) == 2


def test_the_wheel_wakes_the_loop_only_while_it_turns(kiosk, screen):
    ui, loop, monotonic = open_wheel(kiosk, screen)
    assert ui.next_wakeup(monotonic()) == float("inf")  # before: a still picture
    touch(ui, loop, monotonic, ui.button("spin").rect.center)
    assert ui.next_wakeup(monotonic()) < monotonic() + 0.5  # turning: the next step on the frame grid
    run_until_revealed(ui, loop, monotonic)
    assert ui.next_wakeup(monotonic()) == float("inf")  # after: still again
