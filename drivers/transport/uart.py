"""UART transport (pyserial) for MFRC522 modules wired to a serial port.

MFRC522 UART framing: the address byte is NOT shifted; bit 7 = 1 reads, and the chip answers with
the value; bit 7 = 0 writes, the data byte follows and the chip echoes the address byte. The chip
starts at 9600 baud (SerialSpeedReg 0xEB); `set_baudrate()` switches both ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import BusFault
from drivers.registers import SERIAL_SPEED, SERIAL_SPEEDS
from drivers.transport.base import TransportStats, check_register, check_value
from drivers.transport.pins import ControlPins

_LOG = logging.getLogger(__name__)

DEFAULT_BAUD = 9600
FIFO_DATA = 0x09


class UartTransport:
    def __init__(
        self, port: Any, *, pins: ControlPins | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.port = port  # a serial.Serial (or anything with read/write/baudrate)
        self.pins = pins or ControlPins()
        self._sleep = sleep
        self.stats = TransportStats()
        self.wanted_baudrate = DEFAULT_BAUD

    @classmethod
    def open(
        cls,
        port: str = "/dev/serial0",
        baudrate: int = DEFAULT_BAUD,
        timeout_s: float = 0.2,
        reset_pin: int | None = None,
        numbering: str = "BCM",
        gpio: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> UartTransport:
        import serial  # lazily, like every hardware library

        try:
            handle = serial.Serial(port, baudrate=DEFAULT_BAUD, timeout=timeout_s, write_timeout=timeout_s)
        except (serial.SerialException, OSError) as exc:
            raise BusFault(f"cannot open serial port {port}: {exc}") from exc
        transport = cls(
            handle, pins=ControlPins(reset_pin=reset_pin, gpio=gpio, sleep=sleep, numbering=numbering), sleep=sleep
        )
        if baudrate != DEFAULT_BAUD:
            transport.set_baudrate(baudrate)
        return transport

    def _exchange(self, request: bytes, answer_len: int) -> bytes:
        try:
            self.port.write(request)
            answer = self.port.read(answer_len)
        except OSError as exc:
            raise BusFault(f"serial transfer failed: {exc}") from exc
        self.stats.transactions += 1
        self.stats.bytes_moved += len(request) + len(answer)
        if len(answer) != answer_len:
            raise BusFault(f"MFRC522 sent {len(answer)} of {answer_len} bytes over UART")
        return answer

    def read(self, reg: int) -> int:
        check_register(reg)
        self.stats.register_reads += 1
        return self._exchange(bytes((0x80 | reg,)), 1)[0]

    def write(self, reg: int, value: int) -> None:
        check_register(reg)
        check_value(value)
        self.stats.register_writes += 1
        echo = self._exchange(bytes((reg, value)), 1)
        if echo[0] != reg:
            raise BusFault(f"UART write to {reg:#04x} echoed {echo[0]:#04x}")

    def read_fifo(self, count: int) -> bytes:
        if count <= 0:
            return b""
        self.stats.register_reads += count
        return self._exchange(bytes((0x80 | FIFO_DATA,)) * count, count)

    def write_fifo(self, data: bytes) -> None:
        if not data:
            return
        self.stats.register_writes += len(data)
        request = b"".join(bytes((FIFO_DATA, value)) for value in data)
        echoes = self._exchange(request, len(data))
        if any(echo != FIFO_DATA for echo in echoes):
            raise BusFault("UART FIFO write echo mismatch")

    def set_baudrate(self, baudrate: int) -> None:
        """Switch the chip (SerialSpeedReg) and then the port to `baudrate`."""
        if baudrate not in SERIAL_SPEEDS:
            raise ValueError(f"MFRC522 UART supports {sorted(SERIAL_SPEEDS)} baud")
        self.write(SERIAL_SPEED, SERIAL_SPEEDS[baudrate])
        self.port.baudrate = baudrate
        self.wanted_baudrate = baudrate
        _LOG.info("MFRC522 UART now at %d baud", baudrate)

    def wait(self, seconds: float) -> None:
        self._sleep(seconds)

    def after_reset(self) -> None:
        """A soft or hard reset puts SerialSpeedReg back to 9600 baud: follow it, then re-switch."""
        self._sleep(0.001)
        self.port.baudrate = DEFAULT_BAUD
        if self.wanted_baudrate != DEFAULT_BAUD:
            self.set_baudrate(self.wanted_baudrate)

    def hard_reset(self) -> None:
        if self.pins.pulse_reset():
            self.after_reset()

    def close(self) -> None:
        try:
            self.port.close()
        finally:
            self.pins.close()
