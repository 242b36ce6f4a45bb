"""Wakeup: a timed sleep that another thread can end early, built on one Linux eventfd.

The reader thread sleeps between polls dozens of times a second, so the cost of each sleep is
most of an idle kiosk's CPU. threading.Event.wait builds a Condition and a fresh lock on every
call; a poll() on an eventfd is one system call to sleep and one read to reset, and measured on
the benchmark VM it costs about 40 us less per wake-up (see docs/benchmarks.md, bench.kiosk).
The UI loop's `screens.loop.Doorbell` is the same idea (an eventfd, which it also polls together
with the touch devices), kept separate because screens/ may not import drivers/
(tests/foundation/test_layers.py).
"""

from __future__ import annotations

import os
import select
import weakref

_ONE = (1).to_bytes(8, "little")


class Wakeup:
    def __init__(self) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._poller = select.poll()
        self._poller.register(self._fd, select.POLLIN)
        # Closed when the Wakeup is collected, never earlier: a ring after an explicit close could
        # write into whatever file reused the descriptor number.
        weakref.finalize(self, os.close, self._fd)

    def ring(self) -> None:
        """End the current sleep, or the next one if nobody is sleeping (rings do not queue up)."""
        os.write(self._fd, _ONE)

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if rung (the ring is then consumed), False on time-out."""
        if not self._poller.poll(max(seconds, 0.0) * 1000.0):
            return False
        try:
            os.read(self._fd, 8)  # resets the counter: several rings count as one
        except BlockingIOError:
            pass  # another sleeper took it first
        return True
