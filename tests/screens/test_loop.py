"""The UI loop: waits without spinning, dispatches reader events and touches, flips only what
changed, and survives a failing handler."""

from __future__ import annotations

import os
import threading
import time

import pygame
import pytest

from kiosk.model import NoticeKind
from kiosk.ui_state import Done, Idle, Notice
from screens import samples
from screens.base import FrameLoop
from screens.grid import next_on_grid
from screens.idle import RIPPLE_FPS
from screens.loop import READER_EVENT, Doorbell, NoInputs, UiLoop, post_reader_event
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

    loop = UiLoop(
        ui,
        on_intent=handlers.get("on_intent", lambda i: None),
        on_tick=handlers.get("on_tick", lambda now: None),
        on_reader_event=handlers.get("on_reader_event", lambda p: None),
        monotonic=monotonic,
        sleep=sleep,
        flip=flips.append,
        tick_interval_s=tick_interval_s,
        max_fps=max_fps,
    )
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


# --- wake-ups: the doorbell, the shared grid, the attract screen's slower input poll ----------------
def test_an_event_posted_from_another_thread_ends_the_wait_at_once(ui):
    # Real clock and the default (doorbell) sleep: the card must not wait for the next input poll.
    seen = []
    loop = UiLoop(
        ui,
        on_intent=lambda i: None,
        on_reader_event=seen.append,
        poll_hz=0.5,
        tick_interval_s=60.0,
        flip=lambda rects: None,
    )
    loop.step(max_wait_s=0)
    poster = threading.Timer(0.05, post_reader_event, args=("card",))
    poster.start()
    started = time.monotonic()
    loop.step(max_wait_s=10.0)  # one poll every 2 s: without the doorbell this waits 2 s
    poster.join()
    assert seen == ["card"]
    assert time.monotonic() - started < 1.5


def test_the_attract_screen_polls_touch_less_often_than_other_screens(make_ui, monotonic):
    pygame.event.clear()
    ui = make_ui((800, 480))
    loop, _, sleeps = make_loop(ui, monotonic, tick_interval_s=60.0)
    ui.show(Notice(kind=NoticeKind.READER_FAULT))  # a still screen: only input polls wake the loop
    loop.step(max_wait_s=0)
    sleeps.clear()
    loop.step(max_wait_s=2.0)
    busy_wakeups = len(sleeps)
    ui.show(samples.all_states()["idle"])
    loop.step(max_wait_s=0)
    sleeps.clear()
    start = monotonic()
    while monotonic() - start < 2.0:
        loop.step(max_wait_s=2.0 - (monotonic() - start))
    assert busy_wakeups >= 2 * loop.poll_hz - 1
    assert len(sleeps) <= 2 * ui.input_hz() + 1 < busy_wakeups


def test_on_the_attract_screen_frames_and_ticks_fall_on_input_polls(make_ui, monotonic):
    # Ripple frames, the clock and 4 Hz ticks add no wake-ups of their own.
    pygame.event.clear()
    ui = make_ui((800, 480))
    ui.show(samples.all_states()["idle"])
    ticks = []
    loop, flips, sleeps = make_loop(ui, monotonic, on_tick=ticks.append)
    loop.step(max_wait_s=0)
    sleeps.clear(), flips.clear(), ticks.clear()
    start = monotonic()
    while monotonic() - start < 4.0:
        loop.step()
    assert len(flips) >= 4 * RIPPLE_FPS - 1 and len(ticks) >= 4 * 4 - 1
    assert len(sleeps) <= 4 * ui.input_hz() + 1


# --- waiting on input descriptors instead of polling SDL -------------------------------------------
class PipeInput:
    """An input source whose descriptor is a real pipe (a stand-in for /dev/input/eventN)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.drained: list[tuple[int, ...]] = []

    def fds(self):
        return (self.read_fd,)

    def drain(self, ready):
        self.drained.append(tuple(ready))
        for fd in ready:
            os.read(fd, 4096)

    def close(self):
        os.close(self.read_fd)
        os.close(self.write_fd)


def test_with_no_input_sources_the_attract_screen_wakes_only_for_its_frames(make_ui, monotonic):
    pygame.event.clear()
    ui = make_ui((800, 480))
    ui.show(samples.all_states()["idle"])
    waits, ticks, flips = [], [], []

    def wait_input(seconds, fds):
        waits.append(tuple(fds))
        monotonic.advance(seconds)
        return []

    loop = UiLoop(
        ui,
        on_intent=lambda i: None,
        on_tick=ticks.append,
        monotonic=monotonic,
        wait_input=wait_input,
        flip=flips.append,
        inputs=NoInputs(),
    )
    loop.step(max_wait_s=0)
    waits.clear(), ticks.clear(), flips.clear()
    start = monotonic()
    while monotonic() - start < 4.0:
        loop.step()
    assert len(flips) >= 4 * RIPPLE_FPS - 1 and len(ticks) >= 4 * 3 - 1  # animation and ticks go on
    assert len(waits) <= 4 * RIPPLE_FPS + 1 < 4 * ui.input_hz() - 1  # but nothing is polled between
    assert set(waits) == {()}


def step_with_10_s_deadline(loop: UiLoop, action) -> float:
    """One loop step allowed to wait 10 s, with `action` run from another thread 50 ms in; seconds taken."""
    actor = threading.Timer(0.05, action)
    actor.start()
    started = time.monotonic()
    try:
        loop.step(max_wait_s=10.0)
    finally:
        actor.join()
    return time.monotonic() - started


def test_input_on_a_watched_descriptor_ends_the_wait_at_once(ui):
    # A still screen and a 10 s deadline: only the descriptor can end the wait early. The event is
    # queued with pygame.event.post, which rings no doorbell: like a touch SDL has not read yet.
    source = PipeInput()
    seen = []
    loop = UiLoop(
        ui,
        on_intent=lambda i: None,
        on_reader_event=seen.append,
        tick_interval_s=60.0,
        flip=lambda rects: None,
        inputs=source,
    )
    loop.step(max_wait_s=0)

    def touch() -> None:
        pygame.event.post(pygame.event.Event(READER_EVENT, payload="input"))
        os.write(source.write_fd, b"\x00" * 24)  # the kernel's copy of the same input event

    try:
        waited = step_with_10_s_deadline(loop, touch)
    finally:
        source.close()
    assert waited < 1.5
    assert seen == ["input"]
    assert source.drained == [(source.read_fd,)]


def test_the_doorbell_also_ends_a_wait_on_input_descriptors(ui):
    source = PipeInput()
    seen = []
    loop = UiLoop(
        ui,
        on_intent=lambda i: None,
        on_reader_event=seen.append,
        tick_interval_s=60.0,
        flip=lambda rects: None,
        inputs=source,
    )
    loop.step(max_wait_s=0)
    try:
        waited = step_with_10_s_deadline(loop, lambda: post_reader_event("card"))
    finally:
        source.close()
    assert seen == ["card"] and waited < 1.5
    assert source.drained == []


def test_doorbell_wait_reports_only_the_descriptors_that_turned_readable():
    bell = Doorbell()
    quiet_r, quiet_w = os.pipe()
    busy_r, busy_w = os.pipe()
    try:
        os.write(busy_w, b"x")
        assert bell.wait(1.0, (quiet_r, busy_r)) == [busy_r]
        os.read(busy_r, 1)
        started = time.monotonic()
        assert bell.wait(0.05, (quiet_r, busy_r)) == []  # nothing: the full time-out
        assert time.monotonic() - started >= 0.04
        bell.ring()
        bell.ring()
        assert bell.wait(5.0, (quiet_r,)) == []  # rung: returns at once, and both rings are answered
        started = time.monotonic()
        bell.wait(0.05, ())
        assert time.monotonic() - started >= 0.04
    finally:
        for fd in (quiet_r, quiet_w, busy_r, busy_w):
            os.close(fd)


def test_grid_points_are_always_in_the_future():
    # k/6 computed as k * (1/6) and as (k*6)/36 can differ by an ulp: "the next point" must
    # still be ahead, or a loop on a fake clock spins forever.
    for now in (0.0, 1000.0, 1000.0 + 1 / 30, 12345.0625, 3 * (1 / 30), 1e6 + 1e-9, 1000 + 5 / 6, 1001 * (1 / 6)):
        for period in (1 / 30, 1 / 16, 1 / 12, 1 / 6, 0.25, 1.0):
            at = next_on_grid(now, period)
            assert now < at <= now + period + 1e-6
            assert next_on_grid(at, period) > at


def test_an_animation_frame_paints_the_same_pixels_as_a_full_redraw(make_ui, monotonic):
    # Opaque frames skip restoring the static picture under them; the result must not change.
    pygame.event.clear()
    ui = make_ui((800, 480))
    ui.show(samples.all_states()["idle"])
    loop, flips, _ = make_loop(ui, monotonic)
    loop.step(max_wait_s=0)
    for _ in range(5):
        loop.step()  # a few ripple frames drawn incrementally
    incremental = pygame.image.tobytes(ui._display, "RGB")
    ui.show(samples.all_states()["idle"])  # same state again: one full redraw of the same moment
    ui.draw()
    assert pygame.image.tobytes(ui._display, "RGB") == incremental


def test_only_opaque_full_size_frames_claim_to_cover_their_region():
    rect = pygame.Rect(0, 0, 40, 40)
    assert FrameLoop(rect, [pygame.Surface((40, 40))], 8.0).covers
    assert not FrameLoop(rect, [pygame.Surface((40, 40), pygame.SRCALPHA)], 8.0).covers
    assert not FrameLoop(rect, [pygame.Surface((30, 40))], 8.0).covers
    keyed = pygame.Surface((40, 40))
    keyed.set_colorkey((0, 0, 0))
    assert not FrameLoop(rect, [keyed], 8.0).covers


def test_every_touch_is_reported_before_it_is_dispatched(ui, monotonic):
    # A touch anywhere tells the reader somebody is here (it polls fast again), intent or not.
    seen: list[str] = []
    loop, _, _ = make_loop(ui, monotonic, on_intent=lambda i: seen.append("intent"))
    loop.on_input = lambda: seen.append("touch")
    loop.step(max_wait_s=0)
    monotonic.advance(1.0)
    pos = ui.button("done").rect.center
    pygame.event.post(finger(pygame.FINGERDOWN, ui, pos))
    pygame.event.post(finger(pygame.FINGERUP, ui, pos))
    pygame.event.post(finger(pygame.FINGERDOWN, ui, (1, 1)))  # on no button: still somebody here
    loop.step(max_wait_s=0)
    assert seen == ["touch", "intent", "touch"]


def test_a_new_screen_is_not_held_back_by_the_frame_cap_but_animation_frames_are(ui, monotonic):
    # The cap is for animations; a card's screen right after an attract frame goes out at once.
    loop, flips, sleeps = make_loop(
        ui, monotonic, max_fps=5, on_reader_event=lambda p: Notice(kind=NoticeKind.CARD_BLOCKED)
    )
    loop.step(max_wait_s=0)
    assert len(flips) == 1
    sleeps.clear()
    post_reader_event("card")
    loop.step(max_wait_s=0)
    assert len(flips) == 2 and sleeps == []  # flipped without waiting out the 200 ms frame period
    ui.show(samples.all_states()["reading"])  # the same screen's next frames: capped again
    loop.step(max_wait_s=0)
    assert sum(sleeps) >= 0.2 - 1e-6
