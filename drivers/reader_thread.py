"""ReaderThread: runs a ReaderService on its own thread and hands events to the UI loop.

Events go to a queue.Queue (and an optional `wake` callback, e.g. posting a pygame user event).
`submit(job)` lets another thread (the UI) run a job on the presented card between polls; it
returns a concurrent.futures.Future with the job's result or its exception. The thread never dies
of an unexpected exception: it logs it, backs off one poll interval and carries on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from drivers.events import R, ReaderEvent
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
    ) -> None:
        self.service = service
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
            self._kick.sleep(self.service.poll_interval_s)
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
