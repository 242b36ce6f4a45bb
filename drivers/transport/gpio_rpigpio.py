"""The RPi.GPIO backend of the GPIO seam (drivers/transport/pins.py).

RPi.GPIO pokes the SoC's GPIO registers through /dev/gpiomem. That works on a Pi 4 or earlier;
on a Pi 5 (GPIO behind the RP1 chip) `setup()` fails with RuntimeError, and on 6.6 kernels its
edge detection fails ("Failed to add edge detection"), which ControlPins turns into polling.
`rpi-lgpio`, a drop-in RPi.GPIO over lgpio, is used unchanged if it is the RPi.GPIO installed.
"""

from __future__ import annotations

from typing import Any

from drivers.errors import GpioFault


class RpiGpioLines:
    """GpioLines over an RPi.GPIO module (or a look-alike: the emulator's EmulatorGpio)."""

    backend = "rpigpio"

    def __init__(self, module: Any, *, numbering: str = "BCM") -> None:
        self._gpio = module
        wanted = module.BCM if numbering == "BCM" else module.BOARD
        current = module.getmode()
        if current is None:
            module.setmode(wanted)
        elif current != wanted:
            # RPi.GPIO's numbering is process-wide: someone else chose the other one.
            raise GpioFault(f"GPIO backend rpigpio: numbering already set to {current}, the reader needs {numbering}")

    @classmethod
    def open(cls, *, numbering: str = "BCM") -> RpiGpioLines:
        try:
            import RPi.GPIO as module  # lazily: it refuses to import off a Raspberry Pi
        except (ImportError, RuntimeError) as exc:
            raise GpioFault(f"GPIO backend rpigpio cannot load RPi.GPIO ({type(exc).__name__}: {exc})") from exc
        return cls(module, numbering=numbering)

    def claim_output(self, pin: int, level: int) -> None:
        gpio = self._gpio
        gpio.setup(pin, gpio.OUT, initial=gpio.HIGH if level else gpio.LOW)

    def claim_irq(self, pin: int) -> None:
        gpio = self._gpio
        gpio.setup(pin, gpio.IN, pull_up_down=gpio.PUD_UP)

    def write(self, pin: int, level: int) -> None:
        gpio = self._gpio
        gpio.output(pin, gpio.HIGH if level else gpio.LOW)

    def read(self, pin: int) -> int:
        return 1 if self._gpio.input(pin) else 0

    def wait_falling(self, pin: int, timeout_s: float) -> bool:
        gpio = self._gpio
        if gpio.input(pin) == gpio.LOW:
            return True  # the IRQ line is level-like: it stays low until ComIrqReg is cleared
        # RPi.GPIO takes whole milliseconds; rounding up keeps the wait at least `timeout_s`.
        channel = gpio.wait_for_edge(pin, gpio.FALLING, timeout=max(1, int(timeout_s * 1000 + 0.999)))
        return channel is not None or gpio.input(pin) == gpio.LOW

    def release(self, pins: list[int]) -> None:
        self._gpio.cleanup(pins)
