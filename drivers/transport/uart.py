"""UART transport (pyserial) for MFRC522 modules wired to a serial port.

MFRC522 UART framing: the address byte is NOT shifted; bit 7 = 1 reads, and the chip answers with
the value; bit 7 = 0 writes, the data byte follows and the chip echoes the address byte. The chip
starts at 9600 baud (SerialSpeedReg 0xEB); `set_baudrate()` switches both ends.

A serial line has no framing above the byte, so one stray byte (noise at power-up, a late answer
to a request that timed out) would shift every later answer by one. The input buffer is therefore
flushed at open, before every request and after every fault. A chip left at another speed by a
previous run (SerialSpeedReg survives a restart of the kiosk, not a reset) is found again at open:
a pulse on the reset pin brings it back to 9600, or, without one, the speeds are tried in turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import BusFault, GpioFault
from drivers.registers import BAUD_BY_SERIAL_SPEED, SERIAL_SPEED, SERIAL_SPEEDS
from drivers.transport.base import TransportStats, check_register, check_value
from drivers.transport.pins import ControlPins, GpioLines, open_pins

_LOG = logging.getLogger(__name__)

DEFAULT_BAUD = 9600
FIFO_DATA = 0x09
# Per probe read when looking for the chip's speed: two bytes take 2 ms at 9600 baud.
PROBE_TIMEOUT_S = 0.05
# After a reset pulse the chip reads 0x00 until its oscillator runs; public drivers allow ~50 ms.
WAKE_UP_S = 0.1
WAKE_UP_STEP_S = 0.005


class UartTransport:
    def __init__(
        self, port: Any, *, pins: ControlPins | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.port = port  # a serial.Serial (or anything with read/write/baudrate/reset_input_buffer)
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
        gpio_backend: str = "auto",
        lines: GpioLines | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> UartTransport:
        if baudrate not in SERIAL_SPEEDS:
            raise ValueError(f"MFRC522 UART supports {sorted(SERIAL_SPEEDS)} baud")
        import serial  # lazily, like every hardware library

        try:
            handle = serial.Serial(port, baudrate=DEFAULT_BAUD, timeout=timeout_s, write_timeout=timeout_s)
        except (serial.SerialException, OSError) as exc:
            raise BusFault(f"cannot open serial port {port}: {exc}") from exc
        pins = open_pins(
            reset_pin=reset_pin, backend=gpio_backend, numbering=numbering, gpio=gpio, lines=lines, sleep=sleep
        )
        transport = cls(handle, pins=pins, sleep=sleep)
        try:
            transport.connect(baudrate)
        except BaseException:
            transport.close()
            raise
        return transport

    def connect(self, baudrate: int) -> None:
        """Find the chip whatever speed it was left at, then bring both ends to `baudrate`."""
        self._flush_input()  # whatever the line carried before we listened is not an answer
        speed = None
        if self.pins.reset_pin is not None and self.pins.fault is None:
            try:
                self.pins.pulse_reset()  # back to power-on state: 9600 baud
            except GpioFault as exc:
                _LOG.error("%s: looking for the chip's speed instead", exc)
            else:
                self.port.baudrate = DEFAULT_BAUD
                speed = self._await_wake_up()
        if speed is None:
            speed = self.find_speed(baudrate)
        self.wanted_baudrate = speed
        if speed != baudrate:
            self.set_baudrate(baudrate)

    def find_speed(self, baudrate: int) -> int:
        """The speed the chip answers at: 9600 (power-on), then `baudrate`, then every other one.

        A probe reads SerialSpeedReg, whose value must name the speed it was read at, so noise
        cannot pass for an answer. Each speed is tried twice: a probe sent at the wrong speed can
        reach the chip as a garbled write address, and then the next byte is taken as its data.
        """
        candidates = [DEFAULT_BAUD, baudrate] + sorted(set(SERIAL_SPEEDS) - {DEFAULT_BAUD, baudrate}, reverse=True)
        for speed in dict.fromkeys(candidates):
            self.port.baudrate = speed
            if self._probe(speed) or self._probe(speed):
                if speed != DEFAULT_BAUD:
                    _LOG.warning("MFRC522 was left at %d baud (by a previous run?): found it there", speed)
                return speed
        raise BusFault(f"no MFRC522 answers on the serial port at any speed ({', '.join(map(str, candidates))} baud)")

    def _await_wake_up(self) -> int | None:
        """After a reset pulse: 9600 once the chip answers (its oscillator takes a while to start),
        None if it never does within WAKE_UP_S (then the speeds are searched)."""
        for _ in range(round(WAKE_UP_S / WAKE_UP_STEP_S)):
            if self._probe(DEFAULT_BAUD):
                return DEFAULT_BAUD
            self._sleep(WAKE_UP_STEP_S)
        return None

    def _probe(self, speed: int) -> bool:
        """Does the chip answer a read of SerialSpeedReg with the value for `speed`?"""
        saved_timeout = self.port.timeout
        self.port.timeout = min(PROBE_TIMEOUT_S, saved_timeout or PROBE_TIMEOUT_S)
        try:
            self._flush_input()
            self.port.write(bytes((0x80 | SERIAL_SPEED,)))
            answer = self.port.read(1)
        except OSError as exc:
            raise BusFault(f"serial transfer failed: {exc}") from exc
        finally:
            self.port.timeout = saved_timeout
        self._flush_input()
        return len(answer) == 1 and BAUD_BY_SERIAL_SPEED.get(answer[0]) == speed

    def _flush_input(self) -> None:
        try:
            self.port.reset_input_buffer()
        except OSError as exc:
            raise BusFault(f"serial port failed: {exc}") from exc

    def _exchange(self, request: bytes, answer_len: int) -> bytes:
        try:
            # A byte already waiting cannot be the answer to a request not yet sent.
            self.port.reset_input_buffer()
            self.port.write(request)
            answer = self.port.read(answer_len)
        except OSError as exc:
            self._after_fault()
            raise BusFault(f"serial transfer failed: {exc}") from exc
        self.stats.transactions += 1
        self.stats.bytes_moved += len(request) + len(answer)
        if len(answer) != answer_len:
            self._after_fault()
            raise BusFault(f"MFRC522 sent {len(answer)} of {answer_len} bytes over UART")
        return answer

    def _after_fault(self) -> None:
        """Drop what is left of a failed exchange, so it cannot pass for the next answer."""
        try:
            self.port.reset_input_buffer()
        except OSError:
            pass  # the fault being raised says more than this one

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
            self._after_fault()
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
            self._after_fault()
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
        self._flush_input()
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
