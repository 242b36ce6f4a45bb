"""The emulated chip's pins: an SPI device object and a UART on a pseudo-terminal.

These let the real SpiTransport and UartTransport (and pyserial itself) run unchanged against the
emulator. The SPI side decodes the chip's framing byte by byte; the UART side is a thread serving
the other end of a pty. Both charge modelled bus time, and both offer `sleep()`, which lets
modelled time pass instead of wall time when the transport waits.
"""

from __future__ import annotations

import logging
import os
import select
import termios
import threading
import tty
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator

_LOG = logging.getLogger(__name__)


class EmulatorSpiDevice:
    """Looks like spidev.SpiDev to a transport: `xfer2(list) -> list`, `close()`."""

    def __init__(self, chip: MFRC522Emulator) -> None:
        self.chip = chip
        self.mode = 0
        self.max_speed_hz = 125_000_000  # spidev's default, to show what happens if nobody sets it
        self.transfers = 0

    def open(self, bus: int, device: int) -> None:
        pass

    def xfer2(self, data: list[int]) -> list[int]:
        self.transfers += 1
        self.chip.charge_spi(len(data))
        if not data:
            return []
        answer = [0] * len(data)
        first = data[0]
        if first & 0x80:  # read: each address byte gets its value on the next byte slot
            for i in range(len(data) - 1):
                answer[i + 1] = self.chip.read_register((data[i] >> 1) & 0x3F)
        else:
            reg = (first >> 1) & 0x3F
            for value in data[1:]:
                self.chip.write_register(reg, value & 0xFF)
        return answer

    # spidev's older name, used by the mfrc522 package in some versions
    xfer = xfer2

    def sleep(self, seconds: float) -> None:
        self.chip.advance(seconds)

    def close(self) -> None:
        pass


class PtyUartServer:
    """Serves the chip's UART on the master side of a pty; `port` is the slave path to open."""

    def __init__(self, chip: MFRC522Emulator) -> None:
        self.chip = chip
        self.lock = threading.Lock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._pending_write: int | None = None
        self.mismatched_bytes = 0
        self._thread = threading.Thread(target=self._serve, name="mfrc522-uart-emulator", daemon=True)

    def __enter__(self) -> PtyUartServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._thread.start()

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.chip.advance(seconds)

    def send_stray(self, data: bytes) -> None:
        """Bytes on the chip's TX line that answer nothing: noise at power-up, a glitch, the late
        answer of an earlier run. A host that does not flush takes them for answers."""
        os.write(self._master, bytes(data))

    def leave_chip_at(self, baud: int) -> None:
        """The chip as a previous run left it: SerialSpeedReg at `baud` (only a reset restores 9600)."""
        from drivers.registers import SERIAL_SPEED, SERIAL_SPEEDS

        with self.lock:
            self.chip.set_reg(SERIAL_SPEED, SERIAL_SPEEDS[baud])

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                incoming = os.read(self._master, 256)
            except OSError:
                return
            answer = bytearray()
            with self.lock:
                if self._host_baud() != self.chip.uart_baud:
                    # Both ends must agree on the speed; a mismatch turns every byte to noise.
                    self.mismatched_bytes += len(incoming)
                    continue
                for byte in incoming:
                    answer += self._byte(byte)
            if answer:
                os.write(self._master, bytes(answer))

    def _host_baud(self) -> int:
        """The speed the host's serial port set on the tty (pyserial sets it on the slave)."""
        speed = termios.tcgetattr(self._slave)[5]
        for name in dir(termios):
            if name.startswith("B") and name[1:].isdigit() and getattr(termios, name) == speed:
                return int(name[1:])
        return -1

    def _byte(self, byte: int) -> bytes:
        chip = self.chip
        chip.charge_uart(1)
        if self._pending_write is not None:
            reg, self._pending_write = self._pending_write, None
            chip.write_register(reg, byte)
            chip.charge_uart(1)
            return bytes((reg,))  # the chip echoes the address of a write
        if byte & 0x80:
            value = chip.read_register(byte & 0x3F)
            chip.charge_uart(1)
            return bytes((value,))
        self._pending_write = byte & 0x3F
        return b""

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class EmulatorGpio:
    """The board's GPIO header as RPi.GPIO presents it, with the chip's NRSTPD on `reset_pin`.

    Driving the reset pin low then high resets the chip, as on the module. Pins not wired to the
    chip just remember their level.
    """

    BOARD, BCM, OUT, IN = 10, 11, 0, 1
    LOW, HIGH = 0, 1
    PUD_UP, PUD_DOWN, FALLING, RISING = 22, 21, 32, 31

    def __init__(self, chip: MFRC522Emulator, reset_pin: int | None = 25) -> None:
        self.chip = chip
        self.reset_pin = reset_pin
        self.mode: int | None = None
        self.levels: dict[int, int] = {}

    def getmode(self) -> int | None:
        return self.mode

    def setmode(self, mode: int) -> None:
        self.mode = mode

    def setup(self, pin: int, direction: int, initial: int = 1, **_: object) -> None:
        self.levels[pin] = initial

    def output(self, pin: int, value: int) -> None:
        if pin == self.reset_pin:  # NRSTPD: low holds the chip in reset, rising wakes it
            self.chip.set_reset_pin(bool(value))
        self.levels[pin] = self.HIGH if value else self.LOW

    def input(self, pin: int) -> int:
        return self.levels.get(pin, self.HIGH)

    def cleanup(self, pins: int | list[int] | tuple[int, ...] | None = None) -> None:
        if pins is None:
            self.levels.clear()
            self.mode = None
        else:
            for pin in pins if isinstance(pins, (list, tuple)) else [pins]:
                self.levels.pop(pin, None)
