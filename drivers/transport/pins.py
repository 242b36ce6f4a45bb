"""Reset (NRSTPD) and IRQ pins behind a small GPIO seam, with one module per GPIO library.

`GpioLines` is all the reader needs from a GPIO library: claim a line as output or as a pulled-up
input watched for falling edges, drive it, read it, wait for an edge. Backends (`BACKENDS`):

- "lgpio" (gpio_lgpio.py): the kernel's GPIO character device; works on every Pi running Bookworm,
  the Pi 5 included, and its edge waits work on 6.6 kernels.
- "rpigpio" (gpio_rpigpio.py): RPi.GPIO, which the design card names. It works on a Pi 4 or
  earlier, but refuses to load on a Pi 5 and its edge detection fails on 6.6 kernels. (The
  `rpi-lgpio` package installs an RPi.GPIO look-alike over lgpio; this backend uses it unchanged.)
- "none": no GPIO at all; the reset pin and the IRQ pin are not used.
- "auto": lgpio if it can be imported, else RPi.GPIO.

Libraries are imported only when a pin is actually wired. A GPIO library that cannot be loaded,
a chip that cannot be opened or a line that is busy or forbidden becomes a `GpioFault` naming the
backend and the pin; transports then carry on without the pins (`ControlPins.unavailable`): the
reader still reads cards, a hard reset reports the fault, waits poll instead of using the IRQ.
Only the pins we claimed are released: other code on the Pi may own other pins.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from drivers.errors import GpioFault

_LOG = logging.getLogger(__name__)

BACKENDS = ("auto", "lgpio", "rpigpio", "none")
LOW, HIGH = 0, 1
# NRSTPD: the datasheet asks for a low pulse of at least 100 ns; 1 ms is what public drivers use.
RESET_LOW_S = 0.001
# After NRSTPD rises the oscillator starts (~38 us) and the chip needs its start-up time before
# registers answer; the reset-timing work in drivers/mfrc522.py may wait longer still.
RESET_SETTLE_S = 0.005


class GpioLines(Protocol):
    """The GPIO seam: BCM line numbers, levels 0/1. Errors may be anything the library raises."""

    @property
    def backend(self) -> str:
        """Name of the backend, for messages ("lgpio", "rpigpio", "emulator", ...)."""
        ...

    def claim_output(self, pin: int, level: int) -> None: ...

    def claim_irq(self, pin: int) -> None:
        """Claim `pin` as an input with pull-up, watched for falling edges."""

    def write(self, pin: int, level: int) -> None: ...

    def read(self, pin: int) -> int: ...

    def wait_falling(self, pin: int, timeout_s: float) -> bool:
        """Wait until `pin` is low (now, or after a falling edge) or `timeout_s` passed; True if low."""
        ...

    def release(self, pins: list[int]) -> None: ...


def open_lines(backend: str = "auto", *, numbering: str = "BCM", gpio: Any = None) -> GpioLines:
    """The GPIO backend named `backend` ("auto" picks one); GpioFault if none can be loaded.

    `gpio` is an RPi.GPIO-like module to use instead of importing one (tests, the mfrc522
    package's look-alikes), which implies the rpigpio backend.
    """
    if backend not in BACKENDS or backend == "none":
        raise ValueError(f"GPIO backend must be one of {BACKENDS[:-1]}, not {backend!r}")
    from drivers.transport.gpio_rpigpio import RpiGpioLines

    if gpio is not None:
        return RpiGpioLines(gpio, numbering=numbering)
    if backend in ("auto", "lgpio"):
        try:
            from drivers.transport.gpio_lgpio import LgpioLines

            return LgpioLines.open(numbering=numbering)
        except GpioFault as exc:
            if backend == "lgpio" or not isinstance(exc.__cause__, ImportError):
                raise
            _LOG.info("lgpio is not installed: trying RPi.GPIO")
    return RpiGpioLines.open(numbering=numbering)


def backend_to_use(backend: str = "auto") -> str | None:
    """The backend `open_lines(backend)` would try, judged by what is installed (no pin claimed,
    nothing imported); None when `auto` finds no GPIO library at all."""
    if backend != "auto":
        return backend
    if importlib.util.find_spec("lgpio") is not None:
        return "lgpio"
    if importlib.util.find_spec("RPi") is not None:
        return "rpigpio"
    return None


class ControlPins:
    """The reader's reset and IRQ pins on one GpioLines backend (none wired: every call a no-op)."""

    def __init__(
        self,
        *,
        reset_pin: int | None = None,
        irq_pin: int | None = None,
        lines: GpioLines | None = None,
        gpio: Any = None,
        backend: str = "auto",
        numbering: str = "BCM",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"GPIO backend must be one of {BACKENDS}, not {backend!r}")
        if backend == "none":
            reset_pin = irq_pin = None
        self.reset_pin = reset_pin
        self.irq_pin = irq_pin
        self.fault: GpioFault | None = None
        self._sleep = sleep
        self._lines = lines
        self._claimed: list[int] = []
        self._irq_broken = False
        if reset_pin is None and irq_pin is None:
            return
        if self._lines is None:
            try:
                self._lines = open_lines(backend, numbering=numbering, gpio=gpio)
            except GpioFault as exc:
                raise GpioFault(f"{exc}; needed for the {self._wired()}") from exc.__cause__
        lines = self._lines
        for role, pin in (("reset", reset_pin), ("IRQ", irq_pin)):
            if pin is None:
                continue
            try:
                if role == "reset":
                    lines.claim_output(pin, HIGH)  # high: the chip runs; low would power it down
                else:
                    lines.claim_irq(pin)
            except GpioFault:
                self.close()
                raise
            except Exception as exc:  # the library's own error types (lgpio.error, RuntimeError...)
                self.close()
                raise GpioFault(f"GPIO backend {lines.backend} cannot claim the {role} pin BCM{pin}: {exc}") from exc
            self._claimed.append(pin)

    def _wired(self) -> str:
        pins = (("reset", self.reset_pin), ("IRQ", self.irq_pin))
        return " and ".join(f"{role} pin BCM{pin}" for role, pin in pins if pin is not None)

    @classmethod
    def unavailable(cls, fault: GpioFault, *, reset_pin: int | None, irq_pin: int | None) -> ControlPins:
        """Pins that could not be opened: hard resets raise `fault`, IRQ waits poll instead."""
        pins = cls()
        pins.fault = fault
        pins.reset_pin = reset_pin
        pins.irq_pin = irq_pin
        return pins

    @property
    def backend(self) -> str:
        return self._lines.backend if self._lines is not None else "none"

    @property
    def irq_usable(self) -> bool:
        return self.irq_pin is not None and self.fault is None and not self._irq_broken

    def pulse_reset(self) -> bool:
        """Hold NRSTPD low, then let the chip start. False if no reset pin is wired."""
        if self.reset_pin is None:
            return False
        if self.fault is not None or self._lines is None:
            raise GpioFault(f"no hard reset: {self.fault}")
        try:
            self._lines.write(self.reset_pin, LOW)
            self._sleep(RESET_LOW_S)
            self._lines.write(self.reset_pin, HIGH)
        except Exception as exc:
            raise GpioFault(
                f"GPIO backend {self._lines.backend} cannot drive the reset pin BCM{self.reset_pin}: {exc}"
            ) from exc
        self._sleep(RESET_SETTLE_S)
        return True

    def wait_irq(self, seconds: float) -> bool | None:
        """Wait up to `seconds` for the (active low) IRQ line.

        True: it fell; False: it stayed high for `seconds`; None: the caller must wait by itself,
        because no IRQ pin is usable or because the line was already low (an interrupt the caller
        has already read and found not to be the one it waits for: only time can help, and ending
        every wait at once would make a bounded number of checks end too early). An edge wait that
        fails (RPi.GPIO on 6.6 kernels) is logged once and the pin is not used again: waits poll.
        """
        if not self.irq_usable or self._lines is None or self.irq_pin is None:
            return None
        try:
            if self._lines.read(self.irq_pin) == 0:
                return None
            return self._lines.wait_falling(self.irq_pin, seconds)
        except Exception as exc:
            self._irq_broken = True
            _LOG.error(
                "GPIO backend %s cannot wait for the IRQ pin BCM%d (%s): polling the chip instead",
                self._lines.backend,
                self.irq_pin,
                exc,
            )
            return None

    def close(self) -> None:
        if self._claimed and self._lines is not None:
            try:
                self._lines.release(self._claimed)
            except Exception as exc:  # closing must not hide the error that made us close
                _LOG.warning("GPIO backend %s: releasing pins %s failed: %s", self._lines.backend, self._claimed, exc)
        self._claimed = []


def open_pins(
    *,
    reset_pin: int | None,
    irq_pin: int | None = None,
    backend: str = "auto",
    numbering: str = "BCM",
    gpio: Any = None,
    lines: GpioLines | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ControlPins:
    """ControlPins for a transport's `open()`: a GPIO failure is logged and the pins left unused.

    The reader works without its reset and IRQ pins, so a GPIO problem (a Pi 5 with only RPi.GPIO,
    a busy line, no permission) must not stop the kiosk; the fault is kept on the pins, raised by
    the next hard reset (so the reader's health names it) and reported by `kiosk doctor`.
    """
    try:
        return ControlPins(
            reset_pin=reset_pin,
            irq_pin=irq_pin,
            lines=lines,
            gpio=gpio,
            backend=backend,
            numbering=numbering,
            sleep=sleep,
        )
    except GpioFault as fault:
        _LOG.error("%s; the reader runs without its reset/IRQ pins (see kiosk doctor)", fault)
        return ControlPins.unavailable(fault, reset_pin=reset_pin, irq_pin=irq_pin)
