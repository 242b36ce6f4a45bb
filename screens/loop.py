"""The UI's event loop: wait for input or the next animation frame, dispatch, draw only what
changed, and cap the frame rate.

Reader events arrive from the reader thread as pygame events of type `READER_EVENT` (post them
with `post_reader_event`, which is safe from any thread). Each handler returns the next `UiState`
or None; the loop shows it.

Waiting: SDL's own `pygame.event.wait(timeout)` only sleeps properly on video drivers that can be
woken (X11, Wayland, Windows, macOS). On the dummy driver and on KMSDRM, the Pi's console driver,
SDL 2 implements it as a loop that polls every millisecond, which costs a few percent of a core
while idle (bench/render.py measures both). So:
- with `inputs` (where the app knows what carries input: the Pi's evdev touch devices, or nothing
  at all on the headless dummy driver), the loop sleeps until a frame is due, the doorbell rings,
  or one of those descriptors becomes readable, and only then asks SDL for events: no polling,
  and a touch is answered at once;
- otherwise the default `wait="poll"` polls the queue `poll_hz` times a second and sleeps in
  between; `wait="sdl"` uses `pygame.event.wait` for drivers where it truly blocks.

Wake-ups are what an idle kiosk's CPU is made of (bench.kiosk), so the loop keeps them few:
- a reader event or a command posted from another thread rings a doorbell that ends the wait at
  once, so the input poll rate never delays a card (only touches wait for the next poll);
- polls, animation frames and session ticks all fall on one grid of the monotonic clock, so a
  wake-up serves all that is due at that moment instead of each getting its own;
- a screen may ask for a slower input poll (`input_hz`): the attract screen, whose only touch
  target is the language switch, polls at twice its animation rate instead of 30 Hz (without
  `inputs`; with them nothing is polled).
"""

from __future__ import annotations

import logging
import os
import select
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pygame

from kiosk.ui_state import Intent, UiState
from screens.grid import EPSILON_S, next_on_grid

_LOG = logging.getLogger(__name__)

#: pygame event type carrying one reader event in its `payload` attribute.
READER_EVENT: int = pygame.event.custom_type()
#: Posted by `UiLoop.stop()` so a waiting loop notices at once.
_WAKE_EVENT: int = pygame.event.custom_type()
#: What a person does to the screen or the keys: `UiLoop.on_input` hears of each (somebody is here).
TOUCH_EVENTS = frozenset({pygame.MOUSEBUTTONDOWN, pygame.FINGERDOWN, pygame.KEYDOWN})

Handler = Callable[[Any], UiState | None]

_ONE = (1).to_bytes(8, "little")  # one eventfd increment


class Doorbell:
    """A sleep that another thread can cut short: `ring()` ends the current (or the next) `sleep`.

    An eventfd, so that one poll() waits for the ring and for input devices together; rings do
    not queue up. (drivers/wakeup.py is the reader thread's copy: screens/ may not import drivers/.)
    `sleep` watches the bell alone: input that arrives meanwhile waits for the next `wait`, which
    drains it (watching it in `sleep` too would end every sleep at once until then).
    """

    def __init__(self) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._bell = select.poll()
        self._bell.register(self._fd, select.POLLIN)
        self._bell_and_inputs = select.poll()
        self._bell_and_inputs.register(self._fd, select.POLLIN)
        self._watched: tuple[int, ...] = ()
        weakref.finalize(self, os.close, self._fd)  # never earlier: a late ring must not hit a reused fd

    def ring(self) -> None:
        os.write(self._fd, _ONE)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._answer(self._bell.poll(seconds * 1000.0))

    def wait(self, seconds: float, fds: Sequence[int]) -> list[int]:
        """Sleep up to `seconds`, less if rung or if one of `fds` becomes readable; those that did."""
        if seconds <= 0:
            return []
        watched = tuple(fds)
        if watched != self._watched:  # devices come and go rarely: re-register only then
            for fd in self._watched:
                self._bell_and_inputs.unregister(fd)
            for fd in watched:
                self._bell_and_inputs.register(fd, select.POLLIN)
            self._watched = watched
        return self._answer(self._bell_and_inputs.poll(seconds * 1000.0))

    def _answer(self, events: list[tuple[int, int]]) -> list[int]:
        """Consume a ring among `events`; the other descriptors that were ready."""
        ready = []
        for fd, _ in events:
            if fd != self._fd:
                ready.append(fd)
                continue
            try:
                os.read(self._fd, 8)  # answers every ring so far
            except BlockingIOError:
                pass  # answered already
        return ready


class InputSources(Protocol):
    """What can carry input on this display: descriptors that turn readable when it arrives."""

    def fds(self) -> Sequence[int]: ...

    def drain(self, ready: Sequence[int]) -> None:
        """Consume what woke us on `ready` (SDL reads its own copies of the same events)."""

    def close(self) -> None:
        """Let go of the descriptors (when the loop is done)."""


class NoInputs:
    """Nothing can send input (SDL's dummy driver): only frames and the doorbell wake the loop."""

    def fds(self) -> Sequence[int]:
        return ()

    def drain(self, ready: Sequence[int]) -> None:
        pass

    def close(self) -> None:
        pass


#: Rung by every event posted from another thread; the default `sleep` of every UiLoop.
_DOORBELL = Doorbell()


def post_reader_event(payload: object) -> None:
    """Hand a reader event to the UI loop and wake it; callable from any thread."""
    pygame.event.post(pygame.event.Event(READER_EVENT, payload=payload))
    _DOORBELL.ring()


class LoopTarget(Protocol):
    """What the loop drives: screens.ui.KioskUI, or a wrapper of it (the simulation's keys)."""

    def show(self, state: UiState) -> None: ...
    def handle_event(self, event: pygame.event.Event) -> Intent | None: ...
    def update(self, now_monotonic: float) -> None: ...
    def input_hz(self) -> float | None: ...
    def next_wakeup(self, now_monotonic: float) -> float: ...
    def draw(self) -> list[pygame.Rect]: ...


@dataclass
class UiLoop:
    ui: LoopTarget
    on_intent: Callable[[Intent], UiState | None]
    on_tick: Callable[[float], UiState | None] = lambda now: None
    on_reader_event: Handler = lambda payload: None
    #: Called for every touch, click or key press (TOUCH_EVENTS), before it is dispatched.
    on_input: Callable[[], None] = lambda: None
    max_fps: float = 30.0
    # How often on_tick runs (session timeouts, watchdog, status): a multiple of the attract screen's
    # ripple frame period (1/6 s), so there a tick never wakes the loop on its own.
    tick_interval_s: float = 1 / 3
    poll_hz: float = 30.0  # input polling rate while waiting, for wait="poll" (a screen may ask for less)
    wait: Literal["poll", "sdl"] = "poll"
    #: What carries input, when the app knows (see the module doc); None: poll SDL.
    inputs: InputSources | None = None
    monotonic: Callable[[], float] = time.monotonic
    #: Sleeps up to the given seconds; may return early (the doorbell: something was posted).
    sleep: Callable[[float], None] = _DOORBELL.sleep
    #: With `inputs`: sleeps up to the given seconds, less if the doorbell rings or one of the
    #: descriptors turns readable; returns those that did.
    wait_input: Callable[[float, Sequence[int]], list[int]] = _DOORBELL.wait
    flip: Callable[[list[pygame.Rect]], None] = field(default=pygame.display.update)
    frames: int = 0  # display updates done, for the benchmark and tests
    _running: bool = True
    _next_tick: float = 0.0
    _last_flip: float = float("-inf")
    _shown: UiState | None = None  # the last state handed to ui.show
    _new_screen: bool = False  # this step showed a state other than the last one

    def stop(self) -> None:
        """Ask the loop to return after the current step (thread-safe)."""
        self._running = False
        try:
            pygame.event.post(pygame.event.Event(_WAKE_EVENT))
        except pygame.error:
            pass  # the display is already gone; the flag alone ends the loop
        _DOORBELL.ring()

    def run(self) -> None:
        # No `_running = True` here: a stop() that came before run() (systemd's SIGTERM right
        # after READY) must still end the loop, not be forgotten.
        while self._running and self.step():
            pass

    def step(self, max_wait_s: float | None = None) -> bool:
        """One turn: wait, dispatch, tick, draw. False once the window was closed."""
        now = self.monotonic()
        deadline = min(self.ui.next_wakeup(now), self._next_tick)
        if max_wait_s is not None:
            deadline = min(deadline, now + max_wait_s)
        events = self._wait(deadline)
        for event in events:
            if event.type == pygame.QUIT:
                self._running = False
                return False
            if event.type == _WAKE_EVENT:
                continue
            if event.type == READER_EVENT:
                self._show(self._call(self.on_reader_event, getattr(event, "payload", None)))
                continue
            if event.type in TOUCH_EVENTS:
                self.on_input()
            intent = self.ui.handle_event(event)
            if intent is not None:
                self._show(self._call(self.on_intent, intent))
        now = self.monotonic()
        if now >= self._next_tick - EPSILON_S:
            self._next_tick = next_on_grid(now, self.tick_interval_s)
            self._show(self._call(self.on_tick, now))
        self.ui.update(now)
        # Cap the frame rate: hold the next flip back until a frame period has passed (a loop,
        # because the doorbell may end a sleep early). A new screen is not held back: the cap is
        # for animations, and a member screen that came just after an attract-screen frame would
        # otherwise wait up to a frame period for nothing (bench.kiosk's tap-to-screen).
        if not self._new_screen:
            while (wait_for_frame := self._last_flip + 1.0 / self.max_fps - self.monotonic()) > EPSILON_S:
                self.sleep(wait_for_frame)
        rects = self.ui.draw()
        if rects:
            self.flip(rects)
            self.frames += 1
            self._last_flip = self.monotonic()
        self._new_screen = False
        return True

    def _show(self, state: UiState | None) -> None:
        if state is not None:
            if state is not self._shown and state != self._shown:
                self._new_screen = True
                self._shown = state
            self.ui.show(state)

    @staticmethod
    def _call(handler: Callable[[Any], UiState | None], arg: object) -> UiState | None:
        # A failing handler must not take the screen down with it: log, keep the loop alive.
        try:
            return handler(arg)
        except Exception:  # noqa: BLE001 - the loop is the last line of defence for the UI
            _LOG.exception("UI handler failed for %r", arg)
            return None

    def _wait(self, deadline: float) -> list[pygame.event.Event]:
        if self.wait == "sdl":
            timeout_ms = int((deadline - self.monotonic()) * 1000)
            if timeout_ms <= 0:
                return pygame.event.get()  # wait(0) would mean "wait forever"
            first = pygame.event.wait(min(timeout_ms, 1000))
            events = [first] if first.type != pygame.NOEVENT else []
            return events + pygame.event.get()
        if self.inputs is not None:
            return self._wait_for_input(deadline, self.inputs)
        period = 1.0 / min(self.poll_hz, self.ui.input_hz() or self.poll_hz)
        while True:
            events = pygame.event.get()
            now = self.monotonic()
            if events or now >= deadline - EPSILON_S:
                return events
            self.sleep(min(next_on_grid(now, period), deadline) - now)

    def _wait_for_input(self, deadline: float, inputs: InputSources) -> list[pygame.event.Event]:
        while True:
            events = pygame.event.get()
            now = self.monotonic()
            if events or now >= deadline - EPSILON_S:
                return events
            ready = self.wait_input(deadline - now, inputs.fds())
            if ready:
                inputs.drain(ready)
