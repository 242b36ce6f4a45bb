"""UART on a real line: stray bytes, and a chip left at another speed by a previous run.

The emulated chip serves its UART on a pseudo-terminal (drivers/emulator/wire.py); the host side is
the real UartTransport over pyserial. `send_stray()` puts bytes on the chip's TX line that answer
nothing; `leave_chip_at()` sets SerialSpeedReg as a run that switched speed and then died would.
"""

from __future__ import annotations

import pytest

from drivers import registers as r
from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.emulator.gpio import EmulatorGpioChip
from drivers.emulator.wire import PtyUartServer
from drivers.errors import BusFault
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport.uart import UartTransport

pytestmark = pytest.mark.integration

UID = bytes.fromhex("a1b2c3d4")


@pytest.fixture
def uart_chip():
    chip = MFRC522Emulator(Field())
    chip.field.present(MifareClassic1K(UID))
    with PtyUartServer(chip) as server:
        yield chip, server


def test_stray_bytes_waiting_at_open_are_not_taken_for_answers(uart_chip):
    chip, server = uart_chip
    transport = UartTransport.open(server.port, sleep=server.sleep, timeout_s=0.1)
    transport.close()
    server.send_stray(b"\x00\xff\x5a")  # power-up noise on TX while nobody listened
    transport = UartTransport.open(server.port, sleep=server.sleep, timeout_s=0.1)
    try:
        driver = Mfrc522(transport)
        assert driver.init() == 0x92
        assert open_session(driver).uid == UID
    finally:
        transport.close()


def test_a_stray_byte_between_exchanges_does_not_shift_later_reads(uart_chip):
    chip, server = uart_chip
    transport = UartTransport.open(server.port, sleep=server.sleep, timeout_s=0.1)
    try:
        driver = Mfrc522(transport)
        driver.init()
        server.send_stray(b"\x5a")
        assert [transport.read(r.VERSION) for _ in range(3)] == [0x92] * 3
        server.send_stray(b"\x01")
        assert open_session(driver).uid == UID
    finally:
        transport.close()


def test_a_late_answer_after_a_fault_is_dropped_not_read_as_the_next_one(uart_chip):
    chip, server = uart_chip
    transport = UartTransport.open(server.port, sleep=server.sleep, timeout_s=0.1)
    try:
        transport.port.baudrate = 115200  # the chip (9600) hears noise: no answer, a fault
        with pytest.raises(BusFault):
            transport.read(r.VERSION)
        transport.port.baudrate = 9600
        server.send_stray(b"\x92\x00")  # what a late answer would look like
        assert transport.read(r.SERIAL_SPEED) == r.SERIAL_SPEEDS[9600]
    finally:
        transport.close()


@pytest.mark.parametrize(("left_at", "wanted"), [(115200, 9600), (115200, 115200), (57600, 115200)])
def test_a_chip_left_at_another_speed_is_found_without_a_reset_pin(uart_chip, left_at, wanted):
    chip, server = uart_chip
    server.leave_chip_at(left_at)
    transport = UartTransport.open(server.port, baudrate=wanted, sleep=server.sleep, timeout_s=0.1)
    try:
        assert chip.uart_baud == wanted and transport.port.baudrate == wanted
        driver = Mfrc522(transport)
        driver.init()  # its soft reset drops the chip to 9600; the transport follows and re-switches
        assert chip.uart_baud == wanted
        assert open_session(driver).uid == UID
    finally:
        transport.close()


def test_with_a_reset_pin_the_chip_is_reset_to_9600_instead_of_searched_for(uart_chip):
    chip, server = uart_chip
    server.leave_chip_at(230400)
    gpio = EmulatorGpioChip(chip, reset_pin=25, irq_pin=None)
    transport = UartTransport.open(server.port, baudrate=115200, reset_pin=25, lines=gpio, sleep=server.sleep)
    try:
        assert chip.resets["hard"] == 1
        assert server.mismatched_bytes == 0  # not one byte sent at a wrong speed
        assert chip.uart_baud == 115200
        assert open_session(_initialised(transport)).uid == UID
    finally:
        transport.close()


def test_no_chip_at_any_speed_is_a_bus_fault_that_says_so(uart_chip):
    chip, server = uart_chip
    chip.hang("dead")  # nothing answers, whatever the speed
    chip.version = 0x00
    with pytest.raises(BusFault, match="at any speed"):
        UartTransport.open(server.port, sleep=server.sleep, timeout_s=0.1)


def _initialised(transport: UartTransport) -> Mfrc522:
    driver = Mfrc522(transport)
    driver.init()
    return driver
