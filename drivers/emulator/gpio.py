"""The emulated board's GPIO header behind the reader's GPIO seam (drivers/transport/pins.py).

`EmulatorGpioChip` is a `GpioLines` whose reset line is the chip's NRSTPD (through the RPi.GPIO
look-alike `EmulatorGpio`, so both see the same pin) and whose IRQ line is the chip's IRQ output,
computed from ComIrqReg & ComIEnReg and the polarity bits. Waiting for a falling edge lets modelled
time pass until the line is low. Faults real boards show can be switched on: lines claimed by
another process (`busy`), a kernel whose edge detection fails (`edges_broken`), no pull-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.emulator.wire import EmulatorGpio

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator


class EmulatorGpioChip:
    """GpioLines for the emulated board: NRSTPD on `reset_pin`, the chip's IRQ on `irq_pin` (BCM)."""

    backend = "emulator"

    def __init__(self, chip: MFRC522Emulator, *, reset_pin: int | None = 25, irq_pin: int | None = 24) -> None:
        self.chip = chip
        self.reset_pin = reset_pin
        self.irq_pin = irq_pin
        self.board = EmulatorGpio(chip, reset_pin=reset_pin)
        self.board.setmode(self.board.BCM)
        self.claimed: set[int] = set()
        self.busy: set[int] = set()  # lines another process holds: claiming them fails
        self.edges_broken = False  # like RPi.GPIO on 6.6 kernels: edge waits raise
        self.pull_up = True  # the Pi's internal pull-up on the IRQ input
        self.edge_waits = 0
        self.woken_early = 0  # edge waits that ended before their timeout

    def _claim(self, pin: int) -> None:
        if pin in self.busy:
            raise OSError(16, "GPIO busy")
        self.claimed.add(pin)

    def claim_output(self, pin: int, level: int) -> None:
        self._claim(pin)
        self.board.setup(pin, self.board.OUT, initial=level)

    def claim_irq(self, pin: int) -> None:
        self._claim(pin)
        self.pull_up = True

    def write(self, pin: int, level: int) -> None:
        if pin not in self.claimed:
            raise OSError(1, f"line {pin} not claimed")
        self.board.output(pin, level)

    def read(self, pin: int) -> int:
        if pin == self.irq_pin:
            driven = self.chip.irq_output()
            if driven is None:  # released open-drain output: the pull decides
                return 1 if self.pull_up else 0
            return driven
        return self.board.input(pin)

    def wait_falling(self, pin: int, timeout_s: float) -> bool:
        if self.edges_broken:
            raise RuntimeError("Failed to add edge detection")
        self.edge_waits += 1
        start = self.chip.model_time_s
        low = self.chip.advance_until(lambda: self.read(pin) == 0, timeout_s)
        if low and self.chip.model_time_s < start + timeout_s:
            self.woken_early += 1
        return low

    def release(self, pins: list[int]) -> None:
        for pin in pins:
            self.claimed.discard(pin)
        self.board.cleanup(list(pins))
