"""The IRQ pin: the emulated chip drives it from ComIrqReg & ComIEnReg and the polarity bits, the
driver enables the interrupts its waits end on, and a wait ends on the pin's falling edge, or
falls back to polling when edge detection fails."""

from __future__ import annotations

import logging

import pytest

from drivers import registers as r
from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.emulator.gpio import EmulatorGpioChip
from drivers.emulator.wire import EmulatorSpiDevice
from drivers.mfrc522 import COM_IEN_IRQ_INV, DIV_IEN_IRQ_PUSH_PULL, IRQ_WAKES, Mfrc522
from drivers.session import open_session
from drivers.transport.pins import ControlPins
from drivers.transport.spi import SpiTransport

UID = bytes.fromhex("a1b2c3d4")
KEY = b"\xff" * 6
RESET, IRQ = 25, 24


def spi_reader(irq_pin: int | None = IRQ) -> tuple[MFRC522Emulator, EmulatorGpioChip, ControlPins, Mfrc522]:
    chip = MFRC522Emulator(Field())
    gpio = EmulatorGpioChip(chip, reset_pin=RESET, irq_pin=IRQ)
    wire = EmulatorSpiDevice(chip)
    pins = ControlPins(reset_pin=RESET, irq_pin=irq_pin, lines=gpio, sleep=wire.sleep)
    driver = Mfrc522(SpiTransport(wire, pins=pins, sleep=wire.sleep))
    return chip, gpio, pins, driver


def read_member_blocks(driver: Mfrc522) -> bytes:
    session = open_session(driver)
    session.authenticate(4, KEY)
    return b"".join(session.read_block(block) for block in (4, 5, 6))


# --- the chip's pin --------------------------------------------------------------------------------


def test_the_irq_line_stays_high_for_an_interrupt_that_comien_does_not_enable():
    chip = MFRC522Emulator(Field())
    gpio = EmulatorGpioChip(chip, irq_pin=IRQ)
    chip.write_register(r.T_RELOAD_L, 10)
    chip.write_register(r.CONTROL, r.CONTROL_TSTART_NOW)
    chip.advance(0.01)
    assert chip.read_register(r.COM_IRQ) & r.IRQ_TIMER  # the timer fired ...
    assert gpio.read(IRQ) == 1  # ... but ComIEnReg (reset 0x80) enables nothing: the driver's old bug
    chip.write_register(r.COM_IEN, 0x80 | r.IRQ_TIMER)
    assert gpio.read(IRQ) == 0


@pytest.mark.parametrize(
    ("com_ien", "div_ien", "pending", "driven"),
    [
        (0x81, 0x00, True, 0),  # IRqInv, open drain: pulls low while an interrupt is pending
        (0x81, 0x00, False, None),  # ... and lets go otherwise: the pull-up decides
        (0x81, 0x80, False, 1),  # push-pull drives the idle level itself
        (0x01, 0x80, True, 1),  # not inverted: active high
        (0x01, 0x80, False, 0),
        (0x01, 0x00, True, None),  # active high through an open drain: only the pull-up raises it
    ],
)
def test_the_irq_output_follows_irqinv_and_irqpushpull(com_ien, div_ien, pending, driven):
    chip = MFRC522Emulator(Field())
    chip.write_register(r.COM_IEN, com_ien)
    chip.write_register(r.DIV_IEN, div_ien)
    chip.write_register(r.COM_IRQ, r.IRQ_ALL)  # clear
    if pending:
        chip.write_register(r.COM_IRQ, r.IRQ_SET1 | r.IRQ_TIMER)
    assert chip.irq_output() == driven
    assert bool(chip.read_register(r.STATUS1) & 0x10) == pending  # Status1Reg.IRq agrees


def test_a_wait_for_the_edge_ends_when_the_line_falls_not_at_its_timeout():
    chip = MFRC522Emulator(Field())
    gpio = EmulatorGpioChip(chip, irq_pin=IRQ)
    gpio.claim_irq(IRQ)
    chip.write_register(r.COM_IEN, 0x80 | r.IRQ_TIMER)
    chip.write_register(r.T_RELOAD_L, 200)  # 200 ticks of the reset prescaler (74 ns each): ~15 us
    start = chip.model_time_s
    chip.write_register(r.CONTROL, r.CONTROL_TSTART_NOW)
    assert gpio.wait_falling(IRQ, 1.0)
    assert chip.model_time_s - start < 0.5 and gpio.woken_early == 1


# --- the driver --------------------------------------------------------------------------------------


def test_init_enables_the_interrupts_the_driver_waits_on_active_low_push_pull():
    chip, _, _, driver = spi_reader()
    driver.init()
    assert chip.reg(r.COM_IEN) == COM_IEN_IRQ_INV | IRQ_WAKES
    assert chip.reg(r.DIV_IEN) == DIV_IEN_IRQ_PUSH_PULL
    assert not chip.reg(r.COM_IEN) & (r.IRQ_LO_ALERT | r.IRQ_HI_ALERT)  # LoAlert would hold the line low


def test_with_an_irq_pin_a_card_is_read_and_waits_end_on_its_edges():
    chip, gpio, _, driver = spi_reader()
    chip.field.present(MifareClassic1K(UID))
    driver.init()
    assert len(read_member_blocks(driver)) == 48
    assert gpio.woken_early > 0


def test_the_irq_pin_reads_a_card_no_later_than_polling():
    def tap_time(irq_pin: int | None) -> float:
        chip, _, _, driver = spi_reader(irq_pin)
        chip.field.present(MifareClassic1K(UID))
        driver.init()
        start = chip.model_time_s
        read_member_blocks(driver)
        return chip.model_time_s - start

    assert tap_time(IRQ) < tap_time(None)


def test_with_an_irq_pin_an_empty_field_still_ends_on_the_timer():
    chip, gpio, _, driver = spi_reader()
    driver.init()
    start = chip.model_time_s
    assert driver.request() is None
    assert chip.model_time_s - start < 0.002
    assert gpio.woken_early == 1  # TimerIRq pulled the line low


def test_edge_detection_that_fails_falls_back_to_polling_and_says_so_once(caplog):
    chip, gpio, pins, driver = spi_reader()
    gpio.edges_broken = True  # RPi.GPIO on a 6.6 kernel: "Failed to add edge detection"
    chip.field.present(MifareClassic1K(UID))
    with caplog.at_level(logging.ERROR, logger="drivers.transport.pins"):
        driver.init()
        assert len(read_member_blocks(driver)) == 48
    assert not pins.irq_usable
    errors = [rec for rec in caplog.records if "IRQ pin BCM24" in rec.getMessage()]
    assert len(errors) == 1 and "polling" in errors[0].getMessage() and "emulator" in errors[0].getMessage()


def test_an_interrupt_already_pending_does_not_cut_the_next_wait_short():
    chip, gpio, pins, driver = spi_reader()
    driver.init()
    chip.write_register(r.COM_IRQ, r.IRQ_SET1 | r.IRQ_RX)  # read by the driver, not what it waits for
    assert gpio.read(IRQ) == 0
    start = chip.model_time_s
    driver.transport.wait(0.002)
    assert chip.model_time_s - start >= 0.002  # slept, like polling, instead of returning at once
