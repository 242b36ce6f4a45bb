"""Compatibility backend: the `mfrc522` PyPI package (0.0.7) as a register transport.

Our protocol driver runs on top of the package's Read_MFRC522/Write_MFRC522, so a site that must
keep the package still gets bounded waits and HALT/7-byte UIDs/value blocks. The package cannot be
handed a bus: it imports spidev and RPi.GPIO itself and sets the GPIO mode globally, so `modules=`
(spidev, RPi.GPIO look-alikes) loads a private copy of it bound to those modules instead.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from drivers.errors import BusFault
from drivers.transport.base import TransportStats, check_register, check_value

_LOG = logging.getLogger(__name__)

FIFO_DATA = 0x09


def load_package(modules: tuple[types.ModuleType, types.ModuleType] | None = None) -> types.ModuleType:
    """The package's MFRC522 module; with `modules` a private copy importing those instead."""
    if modules is None:
        from mfrc522 import MFRC522 as module  # imports RPi.GPIO: only works on a Pi

        return module
    spidev, gpio = modules
    # find_spec of the top-level package does not run its __init__ (which imports RPi.GPIO).
    spec = importlib.util.find_spec("mfrc522")
    if spec is None or spec.origin is None:
        raise ImportError("the mfrc522 package is not installed")
    source = os.path.join(os.path.dirname(spec.origin), "MFRC522.py")
    private_spec = importlib.util.spec_from_file_location("_mfrc522_private", source)
    if private_spec is None or private_spec.loader is None:  # a .py path always has a loader
        raise ImportError(f"cannot load the mfrc522 package's {source}")
    module = importlib.util.module_from_spec(private_spec)
    rpi = types.ModuleType("RPi")
    rpi.GPIO = gpio  # type: ignore[attr-defined]  # a module built at run time: mypy cannot know its attributes
    saved = {name: sys.modules.get(name) for name in ("spidev", "RPi", "RPi.GPIO")}
    sys.modules.update({"spidev": spidev, "RPi": rpi, "RPi.GPIO": gpio})
    try:
        private_spec.loader.exec_module(module)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module


class Mfrc522PackageTransport:
    def __init__(
        self,
        reader: Any,
        *,
        reset_pin: int | None = None,
        gpio: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reader = reader  # an mfrc522.MFRC522.MFRC522 instance
        self.reset_pin = reset_pin
        self._gpio = gpio
        self._sleep = sleep
        self.stats = TransportStats()

    @classmethod
    def open(
        cls,
        bus: int = 0,
        device: int = 0,
        speed_hz: int = 4_000_000,
        pin_rst: int = -1,
        modules: tuple[types.ModuleType, types.ModuleType] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Mfrc522PackageTransport:
        module = load_package(modules)
        try:
            reader = module.MFRC522(bus=bus, device=device, spd=speed_hz, pin_rst=pin_rst)
        except OSError as exc:
            raise BusFault(f"mfrc522 package could not open SPI {bus}.{device}: {exc}") from exc
        # The package adds a StreamHandler to a global logger per instance; logging is configured
        # by the entry point, so drop them instead of letting them pile up.
        reader.logger.handlers = []
        pin = pin_rst if pin_rst != -1 else (15 if module.GPIO.getmode() == 11 else 22)
        return cls(reader, reset_pin=pin, gpio=module.GPIO, sleep=sleep)

    def read(self, reg: int) -> int:
        check_register(reg)
        self.stats.register_reads += 1
        self.stats.transactions += 1
        self.stats.bytes_moved += 2
        return self.reader.Read_MFRC522(reg)

    def write(self, reg: int, value: int) -> None:
        check_register(reg)
        check_value(value)
        self.stats.register_writes += 1
        self.stats.transactions += 1
        self.stats.bytes_moved += 2
        self.reader.Write_MFRC522(reg, value)

    def read_fifo(self, count: int) -> bytes:
        return bytes(self.read(FIFO_DATA) for _ in range(count))  # the package has no burst

    def write_fifo(self, data: bytes) -> None:
        for value in data:
            self.write(FIFO_DATA, value)

    def wait(self, seconds: float) -> None:
        self._sleep(seconds)

    def hard_reset(self) -> None:
        if self._gpio is None or self.reset_pin is None:
            return
        self._gpio.output(self.reset_pin, 0)
        self._sleep(0.001)
        self._gpio.output(self.reset_pin, 1)
        self._sleep(0.005)

    def close(self) -> None:
        self.reader.spi.close()  # not Close_MFRC522(): that runs GPIO.cleanup() on every pin
