"""SPI transport (spidev, mode 0) with optional reset and IRQ pins (the GPIO seam in pins.py).

MFRC522 SPI framing: address byte = (reg << 1) & 0x7E, bit 7 set for a read; a burst read repeats
the address and ends with 0x00; a burst write sends one address then all the data bytes. spidev's
default speed is 125 MHz, far beyond the chip's 10 MHz, so the speed is always set (default 4 MHz).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from drivers.errors import BusFault
from drivers.transport.base import TransportStats, check_register, check_value
from drivers.transport.pins import ControlPins, open_pins

_LOG = logging.getLogger(__name__)

DEFAULT_SPEED_HZ = 4_000_000
MAX_SPEED_HZ = 10_000_000
FIFO_DATA = 0x09


class SpiDevice(Protocol):
    def xfer2(self, data: list[int]) -> list[int]: ...

    def close(self) -> None: ...


def read_address(reg: int) -> int:
    return 0x80 | ((reg << 1) & 0x7E)


def write_address(reg: int) -> int:
    return (reg << 1) & 0x7E


class SpiTransport:
    """Register access over an SPI device object (spidev.SpiDev or anything with xfer2)."""

    def __init__(
        self, device: SpiDevice, *, pins: ControlPins | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.device = device
        self.pins = pins or ControlPins()
        self._sleep = sleep
        self.stats = TransportStats()

    @classmethod
    def open(
        cls,
        bus: int = 0,
        device: int = 0,
        speed_hz: int = DEFAULT_SPEED_HZ,
        reset_pin: int | None = None,
        irq_pin: int | None = None,
        numbering: str = "BCM",
        gpio: Any = None,
        gpio_backend: str = "auto",
    ) -> SpiTransport:
        if not 0 < speed_hz <= MAX_SPEED_HZ:
            raise ValueError(f"SPI speed must be 1..{MAX_SPEED_HZ} Hz for the MFRC522")
        import spidev  # lazily: only on the device

        spi = spidev.SpiDev()
        try:
            spi.open(bus, device)
        except OSError as exc:
            raise BusFault(f"cannot open /dev/spidev{bus}.{device}: {exc}") from exc
        spi.mode = 0
        spi.max_speed_hz = speed_hz
        _LOG.info("SPI %d.%d open at %d Hz", bus, device, speed_hz)
        pins = open_pins(reset_pin=reset_pin, irq_pin=irq_pin, backend=gpio_backend, numbering=numbering, gpio=gpio)
        return cls(spi, pins=pins)

    def _xfer(self, data: list[int]) -> list[int]:
        try:
            answer = self.device.xfer2(data)
        except OSError as exc:
            raise BusFault(f"SPI transfer failed: {exc}") from exc
        self.stats.transactions += 1
        self.stats.bytes_moved += len(data)
        return answer

    def read(self, reg: int) -> int:
        check_register(reg)
        self.stats.register_reads += 1
        return self._xfer([read_address(reg), 0])[1]

    def write(self, reg: int, value: int) -> None:
        check_register(reg)
        check_value(value)
        self.stats.register_writes += 1
        self._xfer([write_address(reg), value])

    def read_fifo(self, count: int) -> bytes:
        if count <= 0:
            return b""
        self.stats.register_reads += count
        return bytes(self._xfer([read_address(FIFO_DATA)] * count + [0])[1:])

    def write_fifo(self, data: bytes) -> None:
        if not data:
            return
        self.stats.register_writes += len(data)
        self._xfer([write_address(FIFO_DATA)] + list(data))

    def wait(self, seconds: float) -> None:
        # The IRQ line ends the wait as soon as an enabled interrupt is pending (True), or after
        # `seconds` (False); None means no usable IRQ pin, so the whole time is slept.
        if self.pins.wait_irq(seconds) is None:
            self._sleep(seconds)

    def hard_reset(self) -> None:
        if not self.pins.pulse_reset():
            _LOG.debug("no reset pin wired: hard reset is a no-op")

    def close(self) -> None:
        try:
            self.device.close()
        finally:
            self.pins.close()
