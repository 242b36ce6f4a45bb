"""A Clock whose time is the emulator's modelled time, for tests and the simulation.

The reader service then measures cooldowns and backoffs in the same time the chip spends on SPI
traffic, RF frames and card answers; `chip.advance()` is "wait until the next poll".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class ModelClock:
    def __init__(self, chip: MFRC522Emulator, start: datetime = EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.chip = chip
        self.start = start

    def monotonic(self) -> float:
        return self.chip.model_time_s

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.chip.model_time_s)
