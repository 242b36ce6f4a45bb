"""The MFRC522 timer unit: prescaled 13.56 MHz, counts down from TReloadReg, TimerIRq at zero.

Time is the emulator's modelled time; the chip schedules the expiry and asks for the counter.
"""

from __future__ import annotations

from drivers.registers import CARRIER_HZ


class Timer:
    def __init__(self) -> None:
        self.running = False
        self.started_at = 0.0
        self.reload = 0
        self.period_s = 1 / CARRIER_HZ
        self.frozen_value = 0
        self.generation = 0  # bumps on every start/stop so stale expiries are ignored

    @staticmethod
    def period_for(t_mode: int, t_prescaler: int) -> float:
        prescaler = ((t_mode & 0x0F) << 8) | t_prescaler
        return (2 * prescaler + 1) / CARRIER_HZ

    def start(self, now: float, reload: int, period_s: float) -> float:
        """Start counting; returns the modelled time of expiry."""
        self.running = True
        self.started_at = now
        self.reload = reload
        self.period_s = period_s
        self.generation += 1
        return now + (reload + 1) * period_s

    def stop(self, now: float) -> None:
        if self.running:
            self.frozen_value = self.value(now)
        self.running = False
        self.generation += 1

    def expire(self) -> None:
        self.running = False
        self.frozen_value = 0

    def value(self, now: float) -> int:
        if not self.running:
            return self.frozen_value
        ticks = int((now - self.started_at) / self.period_s)
        return max(self.reload - ticks, 0)
