"""ReaderThread: runs a ReaderService on its own thread and hands events to the UI loop.

Events go to a queue.Queue (and an optional `wake` callback, e.g. posting a pygame user event).
`submit(job)` lets another thread (the UI) run a job on the presented card between polls; it
returns a concurrent.futures.Future with the job's result or its exception. The thread never dies
of an unexpected exception: it logs it, backs off one poll interval and carries on.

Back-off while nobody is near (only with a presence sensor, drivers/presence.py): the field is
polled every `idle_interval_s` instead of every `service.poll_interval_s` once nobody has been
near for `hold_s`: no sensor reading, no card in the field, no event and no `activity()` (a
touch, called from the UI thread, which also ends the current wait at once). The sensor is read
at every poll, so the fast poll is back at the first poll that sees somebody, before their card
can reach the antenna. Without a sensor the reader always polls fast: a card alone would only
be seen at the next slow poll.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from drivers.events import R, ReaderEvent
from drivers.presence import PresenceSensor
from drivers.reader_service import ReaderService
from drivers.session import CardSession
from drivers.wakeup import Wakeup

_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class ReaderThread(Generic[R]):
    def __init__(
        self,
        service: ReaderService[R],
        events: queue.Queue[ReaderEvent[R]],
        *,
        wake: Callable[[], None] | None = None,
        name: str = "rc522-reader",
        presence: PresenceSensor | None = None,
        idle_interval_s: float | None = None,
        hold_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if idle_interval_s is not None and idle_interval_s < service.poll_interval_s:
            raise ValueError("the idle poll interval must not be shorter than the poll interval")
        self.service = service
        self.presence = presence
        self.idle_interval_s = idle_interval_s if presence is not None else None
        self.hold_s = hold_s
        self._monotonic = monotonic
        self._last_activity = monotonic()
        #: polls made at the idle interval (nobody near), for telemetry and tests
        self.idle_polls = 0
        self._sensor_failed = False
        self.events = events
        self._wake = wake
        # SimpleQueue: checked on every poll, and its empty() is a cheap C call (this thread is
        # the only consumer, so empty() then get_nowait() cannot race).
        # Jobs of any result type wait here; each one's Future is typed where it was submitted.
        self._jobs: queue.SimpleQueue[tuple[Callable[[CardSession], Any], Future[Any]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._kick = Wakeup()  # cheaper per poll than a threading.Event (see drivers/wakeup.py)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._kick.ring()
        if self._thread.ident is not None:  # never started (e.g. a command that only built the app)
            self._thread.join(timeout)
        while True:  # nobody will run these any more: fail them rather than leave callers waiting
            try:
                _, future = self._jobs.get_nowait()
            except queue.Empty:
                break
            future.set_exception(RuntimeError("reader thread stopped"))

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def activity(self) -> None:
        """Somebody is here (a touch): poll fast again, starting now. Any thread."""
        self._last_activity = self._monotonic()
        if self.idle_interval_s is not None:
            self._kick.ring()

    @property
    def backed_off(self) -> bool:
        """The next wait is the idle interval (nobody near)."""
        return self.idle_interval_s is not None and self._monotonic() - self._last_activity >= self.hold_s

    def next_wait(self, events: list[ReaderEvent[R]]) -> float:
        """How long to sleep after a poll that produced `events`: the poll interval, or the idle one."""
        if self.idle_interval_s is None:
            return self.service.poll_interval_s
        assert self.presence is not None  # idle_interval_s is only set with a sensor
        if events or self.service.card_in_field or self._sensed():
            self._last_activity = self._monotonic()
        if not self.backed_off:
            return self.service.poll_interval_s
        self.idle_polls += 1
        return self.idle_interval_s

    def _sensed(self) -> bool:
        assert self.presence is not None
        try:
            return self.presence.present()
        except Exception:  # a failing sensor must not stop the reader: treat it as somebody near
            if not self._sensor_failed:  # once, not 35 times a second
                self._sensor_failed = True
                _LOG.exception("presence sensor read failed; polling fast until it answers again")
            return True

    def submit(self, job: Callable[[CardSession], T]) -> Future[T]:
        """Run `job` via ReaderService.with_card on the reader thread; result in the Future."""
        future: Future[T] = Future()
        if self._stop.is_set():
            future.set_exception(RuntimeError("reader thread stopped"))
            return future
        self._jobs.put((job, future))
        self._kick.ring()
        return future

    def _run(self) -> None:
        while not self._stop.is_set():
            self._run_jobs()
            try:
                events = self.service.poll_once()
            except Exception:  # never let a bug kill the reader
                _LOG.exception("reader poll failed unexpectedly")
                events = []
            for event in events:
                self.events.put(event)
            if events and self._wake is not None:
                try:
                    self._wake()
                except Exception:
                    _LOG.exception("wake callback failed")
            self._kick.sleep(self.next_wait(events))
        self._run_jobs()

    def _run_jobs(self) -> None:
        while not self._jobs.empty():
            job, future = self._jobs.get_nowait()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self.service.with_card(job))
            except BaseException as exc:  # the caller decides what an error means
                future.set_exception(exc)
