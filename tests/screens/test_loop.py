"""The UI loop: waits without spinning, dispatches reader events and touches, flips only what
changed, and survives a failing handler."""

from __future__ import annotations

import threading

import pygame
import pytest

from kiosk.model import NoticeKind
from kiosk.ui_state import Done, Idle, Notice
from screens import samples
from screens.loop import READER_EVENT, UiLoop, post_reader_event
from tests.screens.conftest import finger


@pytest.fixture
def ui(make_ui):
    pygame.event.clear()
    ui = make_ui((800, 480))
    ui.show(Notice(kind=NoticeKind.READER_FAULT))
    return ui


def make_loop(ui, monotonic, *, tick_interval_s: float = 0.25, max_fps: float = 30.0, **handlers):
    flips: list[list[pygame.Rect]] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        monotonic.advance(seconds)

    loop = UiLoop(ui, on_intent=handlers.get("on_intent", lambda i: None),
                  on_tick=handlers.get("on_tick", lambda now: None),
                  on_reader_event=handlers.get("on_reader_event", lambda p: None),
                  monotonic=monotonic, sleep=sleep, flip=flips.append, tick_interval_s=tick_interval_s,
                  max_fps=max_fps)
    return loop, flips, sleeps


def test_a_still_screen_is_drawn_once_and_then_never_flipped(ui, monotonic):
    loop, flips, _ = make_loop(ui, monotonic)
    for _ in range(20):
        loop.step(max_wait_s=0.5)
    assert len(flips) == 1


def test_waiting_sleeps_between_polls_instead_of_spinning(ui, monotonic):
    loop, _, sleeps = make_loop(ui, monotonic, tick_interval_s=60.0)
    loop.step(max_wait_s=0)
    sleeps.clear()
    loop.step(max_wait_s=1.0)
    assert 1.0 - 1e-6 <= sum(sleeps) and len(sleeps) <= loop.poll_hz + 2


def test_reader_events_reach_their_handler_and_the_answer_is_shown(ui, monotonic):
    seen = []
    loop, _, _ = make_loop(ui, monotonic, on_reader_event=lambda p: seen.append(p) or Idle("Shop", True))
    post_reader_event({"uid": "04a1"})
    loop.step(max_wait_s=0)
    assert seen == [{"uid": "04a1"}]
    assert ui.state == Idle("Shop", True)


def test_reader_events_may_be_posted_from_another_thread(ui, monotonic):
    seen = []
    loop, _, _ = make_loop(ui, monotonic, on_reader_event=seen.append)
    thread = threading.Thread(target=post_reader_event, args=("from-thread",))
    thread.start()
    thread.join()
    loop.step(max_wait_s=0)
    assert seen == ["from-thread"]


def test_touch_intents_go_to_the_intent_handler(ui, monotonic):
    intents = []
    loop, _, _ = make_loop(ui, monotonic, on_intent=intents.append)
    loop.step(max_wait_s=0)
    monotonic.advance(1.0)  # past the moment after a screen change when taps are ignored
    pos = ui.button("done").rect.center
    pygame.event.post(finger(pygame.FINGERDOWN, ui, pos))
    pygame.event.post(finger(pygame.FINGERUP, ui, pos))
    loop.step(max_wait_s=0)
    assert intents == [Done()]


def test_a_failing_handler_is_logged_and_the_loop_goes_on(ui, monotonic, caplog):
    def explode(payload):
        raise RuntimeError("boom")

    loop, _, _ = make_loop(ui, monotonic, on_reader_event=explode)
    post_reader_event("x")
    assert loop.step(max_wait_s=0) is True
    assert "boom" in caplog.text


def test_ticks_come_at_the_configured_interval(ui, monotonic):
    ticks = []
    loop, _, _ = make_loop(ui, monotonic, on_tick=ticks.append)
    for _ in range(40):
        loop.step(max_wait_s=0.1)
    assert len(ticks) == pytest.approx(4.0 / loop.tick_interval_s, abs=2)


def test_frames_are_capped(make_ui, monotonic):
    pygame.event.clear()
    ui = make_ui((800, 480))
    ui.show(samples.all_states()["reading"])  # a spinner at 12 fps
    loop, flips, _ = make_loop(ui, monotonic, max_fps=5)
    start = monotonic()
    while monotonic() - start < 2.0:
        loop.step()
    assert len(flips) <= 2.0 * 5 + 2


def test_closing_the_window_ends_the_loop(ui, monotonic):
    loop, _, _ = make_loop(ui, monotonic)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert loop.step(max_wait_s=0) is False


def test_stop_ends_run(ui, monotonic):
    ticks = []
    loop, _, _ = make_loop(ui, monotonic, on_tick=lambda now: ticks.append(now) or loop.stop())
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    runner.join(timeout=5.0)
    assert not runner.is_alive()
    assert len(ticks) == 1


def test_the_reader_event_type_is_a_custom_pygame_type():
    assert READER_EVENT >= pygame.USEREVENT


def test_sdl_waiting_with_no_time_left_does_not_block(ui, monotonic):
    # pygame.event.wait(0) waits forever; a deadline already passed must just drain the queue.
    loop, _, _ = make_loop(ui, monotonic)
    loop.wait = "sdl"
    assert loop.step(max_wait_s=0) is True
