"""The lgpio backend of the GPIO seam (drivers/transport/pins.py): every Pi on Bookworm.

lgpio talks to the kernel's GPIO character device (/dev/gpiochipN), so it does not care which SoC
drives the header: it works on the Pi 5 (RP1) as on earlier boards, and its edge alerts work on
6.6 kernels where RPi.GPIO's do not. The header's chip is found by its label because its number
changed: a Pi 5 on kernels before 6.6.45 has it at gpiochip4, later kernels at gpiochip0.
Lines are numbered as BCM GPIO numbers (the chip's line offsets).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from drivers.errors import GpioFault

_LOG = logging.getLogger(__name__)

HEADER_LABELS = ("pinctrl-rp1", "pinctrl-bcm2712", "pinctrl-bcm2711", "pinctrl-bcm2835")
CHIPS_TRIED = (0, 4, 1, 2, 3)


class LgpioLines:
    """GpioLines over an open lgpio gpiochip handle."""

    backend = "lgpio"

    def __init__(self, module: Any, handle: int, chip: int) -> None:
        self._lg = module
        self._handle = handle
        self.chip = chip
        self._events: dict[int, threading.Event] = {}
        self._callbacks: dict[int, Any] = {}

    @classmethod
    def open(cls, *, numbering: str = "BCM", chip: int | None = None, module: Any = None) -> LgpioLines:
        if numbering != "BCM":
            raise GpioFault("GPIO backend lgpio numbers pins by BCM GPIO number only")
        lg = module if module is not None else _import_lgpio()
        handle, number = _open_header_chip(lg, chip)
        _LOG.info("GPIO via lgpio on /dev/gpiochip%d", number)
        return cls(lg, handle, number)

    def claim_output(self, pin: int, level: int) -> None:
        self._lg.gpio_claim_output(self._handle, pin, 1 if level else 0)

    def claim_irq(self, pin: int) -> None:
        lg = self._lg
        lg.gpio_claim_alert(self._handle, pin, lg.FALLING_EDGE, lg.SET_PULL_UP)
        event = self._events[pin] = threading.Event()
        # lgpio calls this from its own thread for every falling edge it reports.
        self._callbacks[pin] = lg.callback(self._handle, pin, lg.FALLING_EDGE, lambda *_: event.set())

    def write(self, pin: int, level: int) -> None:
        self._lg.gpio_write(self._handle, pin, 1 if level else 0)

    def read(self, pin: int) -> int:
        return 1 if self._lg.gpio_read(self._handle, pin) else 0

    def wait_falling(self, pin: int, timeout_s: float) -> bool:
        event = self._events[pin]
        event.clear()
        # Read after clearing: an edge between the two is then either seen here or sets the event.
        if self.read(pin) == 0:
            return True
        return event.wait(timeout_s) or self.read(pin) == 0

    def release(self, pins: list[int]) -> None:
        try:
            for pin in pins:
                callback = self._callbacks.pop(pin, None)
                if callback is not None:
                    callback.cancel()
                self._events.pop(pin, None)
                self._lg.gpio_free(self._handle, pin)
        finally:
            if not self._events:
                self._lg.gpiochip_close(self._handle)


def _import_lgpio() -> Any:
    try:
        import lgpio  # lazily: only on the device
    except ImportError as exc:
        raise GpioFault(f"GPIO backend lgpio: the lgpio module is not installed ({exc})") from exc
    except Exception as exc:
        # Importing lgpio opens its notification pipe `.lgd-nfyN` in the working directory (or
        # $LG_WD): a read-only one fails here. kiosk.service runs in /var/lib/kiosk.
        raise GpioFault(
            f"GPIO backend lgpio failed to load ({type(exc).__name__}: {exc}); it needs a writable working directory"
        ) from exc
    return lgpio


def _open_header_chip(lg: Any, chip: int | None) -> tuple[int, int]:
    """Open the gpiochip that drives the 40-pin header; (handle, chip number)."""
    numbers = CHIPS_TRIED if chip is None else (chip,)
    errors: list[str] = []
    for number in numbers:
        try:
            handle = lg.gpiochip_open(number)
        except Exception as exc:  # lgpio.error: no such chip, or no permission
            errors.append(f"/dev/gpiochip{number}: {exc}")
            continue
        if chip is not None:
            return handle, number
        try:
            label = str(lg.gpio_get_chip_info(handle)[3])
        except Exception:  # an old lgpio without chip info: chip 0 is the header on every Pi but the early Pi 5 kernels
            label = HEADER_LABELS[-1] if number == 0 else ""
        if label in HEADER_LABELS:
            return handle, number
        lg.gpiochip_close(handle)
        errors.append(f"/dev/gpiochip{number} is {label or 'not the header'}")
    raise GpioFault(f"GPIO backend lgpio cannot open the header's gpiochip: {'; '.join(errors)}")
