"""ReaderThread: events reach the UI's queue, jobs submitted from another thread run on the card."""

from __future__ import annotations

import queue
import threading

import pytest

from drivers.clock import SystemClock
from drivers.emulator import MifareClassic1K
from drivers.errors import CardTimeout
from drivers.events import CardPresented, ReaderHealthChanged
from drivers.reader_service import ReaderService
from drivers.reader_thread import ReaderThread
from tests.drivers.rigs import make_rig

FF = b"\xff" * 6


@pytest.fixture
def running():
    rig = make_rig("emulator", init=False)
    lock = threading.Lock()
    service = ReaderService(
        rig.driver, SystemClock(), poll_interval_s=0.005, cooldown_s=0.2, read_job=lambda session: session.uid
    )
    events: queue.Queue = queue.Queue()
    woken = threading.Event()
    thread = ReaderThread(service, events, wake=woken.set)
    thread.start()
    yield rig, thread, events, woken, lock
    thread.stop()


def _next(events, kind, timeout=5.0):
    while True:
        event = events.get(timeout=timeout)
        if isinstance(event, kind):
            return event


def test_events_arrive_on_the_queue_and_wake_the_ui(running):
    rig, thread, events, woken, _ = running
    assert _next(events, ReaderHealthChanged).state == "ok"
    rig.field.present(MifareClassic1K(bytes.fromhex("a1b2c3d4")))
    assert _next(events, CardPresented).uid == bytes.fromhex("a1b2c3d4")
    assert woken.is_set()


def test_a_submitted_job_runs_on_the_presented_card(running):
    rig, thread, events, _, _ = running
    card = MifareClassic1K(bytes.fromhex("a1b2c3d4"))
    rig.field.present(card)
    _next(events, CardPresented)

    def write(session):
        session.authenticate(4, FF)
        session.write_block(4, b"x" * 16)
        return session.uid

    assert thread.submit(write).result(timeout=5) == card.uid
    assert card.block(4) == b"x" * 16


def test_a_job_without_a_card_fails_with_card_timeout(running):
    rig, thread, events, _, _ = running
    _next(events, ReaderHealthChanged)
    with pytest.raises(CardTimeout):
        thread.submit(lambda session: None).result(timeout=5)


def test_jobs_submitted_after_stop_fail_instead_of_hanging(running):
    rig, thread, events, _, _ = running
    thread.stop()
    with pytest.raises(RuntimeError):
        thread.submit(lambda session: None).result(timeout=1)


def test_stopping_a_thread_that_never_started_is_harmless():
    thread = ReaderThread(ReaderService(make_rig("emulator", init=False).driver, SystemClock()), queue.Queue())
    thread.stop()
    assert not thread.alive
    assert thread.submit(lambda session: None).exception() is not None  # refuses work once stopped
