"""The emulated MFRC522 at register level: reset values, Set1 IRQs, FIFO, timer, CRC, commands."""

from __future__ import annotations

import pytest

from drivers import registers as r
from drivers.crc import crc_a
from drivers.emulator import Field, MFRC522Emulator


@pytest.fixture
def chip():
    return MFRC522Emulator(Field())


def test_registers_hold_their_datasheet_reset_values(chip):
    assert chip.read_register(r.COMMAND) == 0x20
    assert chip.read_register(r.MODE) == 0x3F
    assert chip.read_register(r.TX_CONTROL) == 0x80
    assert chip.read_register(r.SERIAL_SPEED) == 0xEB
    assert chip.read_register(r.COM_IRQ) == 0x14


@pytest.mark.parametrize("version", [0x91, 0x92, 0x88, 0x12])
def test_version_register_reports_the_configured_chip(version):
    assert MFRC522Emulator(version=version).read_register(r.VERSION) == version


@pytest.mark.parametrize("dead", [0x00, 0xFF])
def test_a_dead_bus_reads_the_same_value_everywhere(dead):
    chip = MFRC522Emulator(version=dead)
    assert {chip.read_register(reg) for reg in (r.VERSION, r.COMMAND, r.MODE)} == {dead}


def test_com_irq_write_with_set1_clear_clears_only_written_bits(chip):
    chip.write_register(r.COM_IRQ, 0x80 | r.IRQ_TIMER | r.IRQ_RX)
    chip.write_register(r.COM_IRQ, r.IRQ_TIMER)
    assert chip.read_register(r.COM_IRQ) & (r.IRQ_TIMER | r.IRQ_RX) == r.IRQ_RX


def test_fifo_holds_64_bytes_and_flags_overflow(chip):
    for value in range(65):
        chip.write_register(r.FIFO_DATA, value)
    assert chip.read_register(r.FIFO_LEVEL) == 64
    assert chip.read_register(r.ERROR) & r.ERR_BUFFER_OVFL
    chip.write_register(r.FIFO_LEVEL, r.FIFO_FLUSH)
    assert chip.read_register(r.FIFO_LEVEL) == 0
    assert not chip.read_register(r.ERROR) & r.ERR_BUFFER_OVFL


def test_fifo_returns_bytes_in_order(chip):
    for value in (1, 2, 3):
        chip.write_register(r.FIFO_DATA, value)
    assert [chip.read_register(r.FIFO_DATA) for _ in range(3)] == [1, 2, 3]


def test_timer_fires_after_reload_ticks_of_modelled_time(chip):
    chip.write_register(r.T_MODE, 0x00)
    chip.write_register(r.T_PRESCALER, 0xA9)  # 40 kHz
    chip.write_register(r.T_RELOAD_L, 40)  # ~1 ms
    chip.write_register(r.CONTROL, r.CONTROL_TSTART_NOW)
    chip.advance(0.0009)
    assert not chip.read_register(r.COM_IRQ) & r.IRQ_TIMER
    assert chip.read_register(r.STATUS1) & 0x08  # TRunning
    chip.advance(0.0002)
    assert chip.read_register(r.COM_IRQ) & r.IRQ_TIMER


def test_calc_crc_puts_crc_a_in_the_result_registers(chip):
    chip.write_register(r.MODE, 0x3D)  # preset 0x6363
    for value in b"\x30\x04":
        chip.write_register(r.FIFO_DATA, value)
    chip.write_register(r.COMMAND, r.CMD_CALC_CRC)
    assert chip.read_register(r.DIV_IRQ) & r.DIV_IRQ_CRC
    crc = crc_a(b"\x30\x04")
    assert (chip.read_register(r.CRC_RESULT_L), chip.read_register(r.CRC_RESULT_H)) == (crc & 0xFF, crc >> 8)


def test_transceive_without_card_ends_with_timer_irq_and_no_rx(chip):
    chip.write_register(r.T_MODE, 0x80)
    chip.write_register(r.T_PRESCALER, 0xA9)
    chip.write_register(r.T_RELOAD_L, 40)
    chip.write_register(r.TX_CONTROL, 0x83)
    chip.write_register(r.FIFO_DATA, 0x26)
    chip.write_register(r.COMMAND, r.CMD_TRANSCEIVE)
    chip.write_register(r.BIT_FRAMING, 0x87)
    chip.advance(0.002)
    irq = chip.read_register(r.COM_IRQ)
    assert irq & r.IRQ_TIMER and irq & r.IRQ_TX and not irq & r.IRQ_RX
    assert chip.read_register(r.COMMAND) & 0x0F == r.CMD_TRANSCEIVE  # Transceive never ends itself


def test_soft_reset_restores_reset_values_and_switches_the_antenna_off(chip):
    chip.write_register(r.MODE, 0x3D)
    chip.write_register(r.TX_CONTROL, 0x83)
    chip.write_register(r.COMMAND, r.CMD_SOFT_RESET)
    assert chip.read_register(r.COMMAND) & r.COMMAND_POWER_DOWN  # still restarting
    chip.advance(0.001)
    assert chip.read_register(r.MODE) == 0x3F
    assert chip.read_register(r.TX_CONTROL) == 0x80
    assert not chip.field.powered


def test_rf_hang_stops_the_timer_until_soft_reset(chip):
    chip.write_register(r.T_MODE, 0x00)
    chip.write_register(r.T_RELOAD_L, 10)
    chip.hang("rf")
    chip.write_register(r.CONTROL, r.CONTROL_TSTART_NOW)
    chip.advance(0.01)
    assert not chip.read_register(r.COM_IRQ) & r.IRQ_TIMER
    chip.write_register(r.COMMAND, r.CMD_SOFT_RESET)
    assert chip.hung is None


def test_bus_hang_needs_the_reset_pin(chip):
    chip.hang("bus")
    chip.write_register(r.COMMAND, r.CMD_SOFT_RESET)
    assert chip.read_register(r.VERSION) == 0x00
    chip.hard_reset()
    chip.advance(chip.timing.wake_up_s)  # asleep until the oscillator runs: see test_emulator_power.py
    assert chip.read_register(r.VERSION) == 0x92


def test_host_clears_but_cannot_set_crypto1_on(chip):
    chip.write_register(r.STATUS2, r.STATUS2_CRYPTO1_ON)
    assert not chip.read_register(r.STATUS2) & r.STATUS2_CRYPTO1_ON


def test_unknown_hang_kind_is_refused(chip):
    with pytest.raises(ValueError):
        chip.hang("sulk")


def test_bus_time_advances_modelled_time(chip):
    before = chip.model_time_s
    chip.charge_spi(2)
    assert chip.model_time_s - before == pytest.approx(chip.timing.spi_transaction_s(2))
