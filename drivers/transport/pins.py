"""Reset (NRSTPD) and IRQ pins through RPi.GPIO, imported only when a pin is actually wired.

`gpio` can be injected (tests, or a board with another GPIO library exposing the same calls).
Only the pins we set up are cleaned up: other code on the Pi may own other pins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class ControlPins:
    def __init__(
        self,
        *,
        reset_pin: int | None = None,
        irq_pin: int | None = None,
        gpio: Any = None,
        numbering: str = "BCM",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reset_pin = reset_pin
        self.irq_pin = irq_pin
        self._sleep = sleep
        self._gpio = gpio
        if reset_pin is None and irq_pin is None:
            return
        if self._gpio is None:
            import RPi.GPIO as gpio_module  # lazily: it refuses to import off a Raspberry Pi

            self._gpio = gpio_module
        gpio = self._gpio
        wanted = gpio.BCM if numbering == "BCM" else gpio.BOARD
        current = gpio.getmode()
        if current is None:
            gpio.setmode(wanted)
        elif current != wanted:
            raise ValueError(f"GPIO numbering already set to {current}, config asks for {numbering}")
        if reset_pin is not None:
            gpio.setup(reset_pin, gpio.OUT, initial=gpio.HIGH)
        if irq_pin is not None:
            gpio.setup(irq_pin, gpio.IN, pull_up_down=gpio.PUD_UP)

    def pulse_reset(self) -> bool:
        """Hold NRSTPD low for 1 ms, then wait for the oscillator (datasheet: ~38 us + margin)."""
        if self.reset_pin is None:
            return False
        self._gpio.output(self.reset_pin, self._gpio.LOW)
        self._sleep(0.001)
        self._gpio.output(self.reset_pin, self._gpio.HIGH)
        self._sleep(0.005)
        return True

    def wait_irq(self, seconds: float) -> bool:
        """Wait up to `seconds` for the (active low) IRQ pin. False if no IRQ pin is wired."""
        if self.irq_pin is None:
            return False
        if self._gpio.input(self.irq_pin) == self._gpio.LOW:
            return True
        self._gpio.wait_for_edge(self.irq_pin, self._gpio.FALLING, timeout=max(1, int(seconds * 1000 + 0.999)))
        return True

    def close(self) -> None:
        pins = [p for p in (self.reset_pin, self.irq_pin) if p is not None]
        if pins and self._gpio is not None:
            self._gpio.cleanup(pins)
