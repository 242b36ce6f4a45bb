"""Transport selection, lazy hardware imports, the spy log and UART speed switching."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.emulator.wire import PtyUartServer
from drivers.errors import BusFault
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport import open_transport
from drivers.transport.spy import SpyTransport
from drivers.transport.uart import UartTransport


def test_importing_drivers_loads_no_hardware_library():
    code = (
        "import sys, drivers.transport, drivers.mfrc522, drivers.reader_service, "
        "drivers.reader_thread, drivers.emulator; "
        "print([m for m in ('spidev', 'RPi', 'RPi.GPIO', 'serial', 'mfrc522') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_transport_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown transport kind"):
        open_transport("i2c")


def test_emulator_transport_rejects_unknown_parameters():
    with pytest.raises(TypeError):
        open_transport("emulator", speed=1)


def test_spy_wrapper_logs_register_traffic_by_name(caplog):
    chip = MFRC522Emulator(Field())
    transport = open_transport("emulator", chip=chip, spy=True)
    assert isinstance(transport, SpyTransport)
    with caplog.at_level(logging.DEBUG, logger="drivers.transport.spy"):
        Mfrc522(transport).init()
    assert "R VERSION -> 92" in caplog.text
    assert any(line.startswith("W TX_CONTROL") for line in transport.trace)


@pytest.mark.parametrize(
    "access",
    [lambda t: t.read(0x40), lambda t: t.write(0x40, 0), lambda t: t.write(0x01, 0x100), lambda t: t.write(0x01, -1)],
)
def test_emulator_transport_refuses_registers_and_values_out_of_range(access):
    with pytest.raises(ValueError):
        access(open_transport("emulator", chip=MFRC522Emulator(Field())))


def test_spi_refuses_a_speed_the_chip_cannot_take():
    with pytest.raises(ValueError):
        open_transport("spi", speed_hz=125_000_000)


def test_missing_serial_port_is_a_bus_fault():
    with pytest.raises(BusFault):
        open_transport("uart", port="/dev/does-not-exist")


@pytest.mark.integration
def test_uart_switches_speed_on_both_ends_and_keeps_working():
    chip = MFRC522Emulator(Field())
    chip.field.present(MifareClassic1K(bytes.fromhex("a1b2c3d4")))
    with PtyUartServer(chip) as server:
        transport = UartTransport.open(server.port, baudrate=115200, sleep=server.sleep)
        try:
            assert chip.uart_baud == 115200 and transport.port.baudrate == 115200
            driver = Mfrc522(transport)
            driver.init()  # its soft reset drops the chip to 9600; the transport follows and re-switches
            assert chip.uart_baud == 115200 and server.mismatched_bytes == 0
            assert open_session(driver).uid == bytes.fromhex("a1b2c3d4")
        finally:
            transport.close()


@pytest.mark.integration
def test_a_speed_mismatch_is_a_bus_fault_not_garbage():
    chip = MFRC522Emulator(Field())
    with PtyUartServer(chip) as server:
        transport = UartTransport.open(server.port, timeout_s=0.05, sleep=server.sleep)
        try:
            transport.port.baudrate = 115200  # chip still at 9600
            with pytest.raises(BusFault):
                transport.read(0x37)
        finally:
            transport.close()


@pytest.mark.integration
def test_uart_reads_a_card_through_pyserial():
    chip = MFRC522Emulator(Field())
    chip.field.present(MifareClassic1K(bytes.fromhex("a1b2c3d4")))
    with PtyUartServer(chip) as server:
        transport = open_transport("uart", port=server.port, sleep=server.sleep)
        try:
            driver = Mfrc522(transport)
            driver.init()
            assert open_session(driver).uid == bytes.fromhex("a1b2c3d4")
        finally:
            transport.close()
