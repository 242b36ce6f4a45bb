"""Wakeup: the reader thread's sleep between polls, which a submitted job or stop() cuts short."""

from __future__ import annotations

import threading
import time

from drivers.wakeup import Wakeup


def test_sleep_without_a_ring_lasts_its_time_and_says_so():
    wakeup = Wakeup()
    started = time.monotonic()
    assert wakeup.sleep(0.05) is False
    assert time.monotonic() - started >= 0.045


def test_a_ring_from_another_thread_ends_the_sleep_early():
    wakeup = Wakeup()
    threading.Timer(0.05, wakeup.ring).start()
    started = time.monotonic()
    assert wakeup.sleep(10.0) is True
    assert time.monotonic() - started < 5.0


def test_a_ring_before_the_sleep_is_not_lost():
    wakeup = Wakeup()
    wakeup.ring()
    assert wakeup.sleep(10.0) is True


def test_several_rings_end_only_one_sleep():
    wakeup = Wakeup()
    wakeup.ring()
    wakeup.ring()
    assert wakeup.sleep(10.0) is True
    assert wakeup.sleep(0.01) is False
