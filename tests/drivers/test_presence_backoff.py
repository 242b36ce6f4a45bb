"""Poll back-off while nobody is near (drivers/reader_thread.py, drivers/presence.py).

The reader runs against the register-level emulator; time is a hand-moved clock, and what is
checked is the wait the thread chooses after each poll, never how long anything took."""

from __future__ import annotations

import queue

import pytest

from drivers.emulator import MifareClassic1K
from drivers.emulator.model_clock import ModelClock
from drivers.errors import GpioFault
from drivers.events import CardPresented
from drivers.presence import GpioPresence, SimulatedPresence
from drivers.reader_service import ReaderService
from drivers.reader_thread import ReaderThread
from tests.drivers.rigs import make_rig

FAST, IDLE, HOLD = 0.028, 0.25, 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rig_and_thread(sensor: SimulatedPresence | None):
    rig = make_rig("emulator", init=False)
    service = ReaderService(
        rig.driver, ModelClock(rig.chip), poll_interval_s=FAST, cooldown_s=0.2, read_job=lambda session: session.uid
    )
    clock = Clock()
    thread = ReaderThread(service, queue.Queue(), presence=sensor, idle_interval_s=IDLE, hold_s=HOLD, monotonic=clock)
    service.start()
    return rig, service, thread, clock


def test_without_a_sensor_the_reader_always_polls_fast():
    _, service, thread, clock = rig_and_thread(None)
    clock.now += 3600
    assert thread.next_wait(service.poll_once()) == FAST
    assert not thread.backed_off and thread.idle_polls == 0


def test_nobody_near_for_the_hold_time_backs_the_poll_off_and_somebody_near_ends_it_at_the_next_poll():
    sensor = SimulatedPresence(near=False)
    _, service, thread, clock = rig_and_thread(sensor)
    assert thread.next_wait(service.poll_once()) == FAST  # just started: within the hold time
    clock.now += HOLD
    assert thread.next_wait(service.poll_once()) == IDLE
    assert thread.backed_off and thread.idle_polls == 1
    sensor.near = True
    assert thread.next_wait(service.poll_once()) == FAST
    sensor.near = False
    clock.now += HOLD - 0.1
    assert thread.next_wait(service.poll_once()) == FAST  # the hold runs from the last sighting
    clock.now += 0.1
    assert thread.next_wait(service.poll_once()) == IDLE


def test_a_touch_brings_the_fast_poll_back_and_ends_the_current_wait():
    _, service, thread, clock = rig_and_thread(SimulatedPresence(near=False))
    clock.now += HOLD
    assert thread.next_wait(service.poll_once()) == IDLE
    thread.activity()
    assert thread._kick.sleep(IDLE) is True  # the ring ends the slow wait at once
    assert thread.next_wait(service.poll_once()) == FAST


def test_a_card_in_the_field_keeps_the_fast_poll_while_it_stays():
    rig, service, thread, clock = rig_and_thread(SimulatedPresence(near=False))
    clock.now += HOLD
    card = MifareClassic1K(bytes.fromhex("a1b2c3d4"))
    rig.field.present(card)  # a card with no sensor reading: seen at the (slow) poll, then followed fast
    events = service.poll_once()
    assert any(isinstance(e, CardPresented) for e in events)
    assert thread.next_wait(events) == FAST
    clock.now += HOLD
    assert service.card_in_field
    assert thread.next_wait(service.poll_once()) == FAST


def test_a_failing_sensor_counts_as_somebody_near_and_is_logged_once(caplog):
    class Broken(SimulatedPresence):
        def present(self) -> bool:
            raise OSError("line gone")

    _, service, thread, clock = rig_and_thread(Broken())
    clock.now += HOLD
    for _ in range(3):
        assert thread.next_wait(service.poll_once()) == FAST
    assert sum("presence sensor read failed" in r.getMessage() for r in caplog.records) == 1


def test_the_idle_interval_may_not_be_shorter_than_the_poll_interval():
    rig = make_rig("emulator", init=False)
    service = ReaderService(rig.driver, ModelClock(rig.chip), poll_interval_s=FAST)
    with pytest.raises(ValueError, match="idle poll interval"):
        ReaderThread(service, queue.Queue(), presence=SimulatedPresence(), idle_interval_s=FAST / 2)


class Lines:
    """A GpioLines with one input whose level a test sets."""

    backend = "fake"

    def __init__(self, level: int = 0, refuse: bool = False) -> None:
        self.level, self.refuse, self.claimed, self.released = level, refuse, [], []

    def claim_irq(self, pin: int) -> None:
        if self.refuse:
            raise OSError(16, "GPIO busy")
        self.claimed.append(pin)

    def read(self, pin: int) -> int:
        return self.level

    def release(self, pins: list[int]) -> None:
        self.released += pins


def test_a_gpio_sensor_is_read_as_a_level_active_high_or_low():
    lines = Lines(level=1)
    high = GpioPresence(17, lines=lines)  # type: ignore[arg-type] - a fake of the GPIO seam
    low = GpioPresence(27, active_high=False, lines=lines)  # type: ignore[arg-type] - same
    assert high.present() and not low.present()
    lines.level = 0
    assert not high.present() and low.present()
    high.close()
    assert lines.claimed == [17, 27] and lines.released == [17]


def test_a_sensor_pin_that_cannot_be_claimed_is_a_gpio_fault_naming_it():
    with pytest.raises(GpioFault, match="presence sensor pin BCM17"):
        GpioPresence(17, lines=Lines(refuse=True))  # type: ignore[arg-type] - a fake of the GPIO seam
