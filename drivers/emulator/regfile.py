"""Reset values of the MFRC522 registers (datasheet section 9.2) and the Set1 IRQ write rule."""

from __future__ import annotations

from drivers import registers as r

RESET_VALUES: dict[int, int] = {
    r.COMMAND: 0x20,
    r.COM_IEN: 0x80,
    r.DIV_IEN: 0x00,
    r.COM_IRQ: 0x14,
    r.DIV_IRQ: 0x00,
    r.ERROR: 0x00,
    r.STATUS1: 0x21,
    r.STATUS2: 0x00,
    r.FIFO_LEVEL: 0x00,
    r.WATER_LEVEL: 0x08,
    r.CONTROL: 0x10,
    r.BIT_FRAMING: 0x00,
    r.COLL: 0xA0,
    r.MODE: 0x3F,
    r.TX_MODE: 0x00,
    r.RX_MODE: 0x00,
    r.TX_CONTROL: 0x80,
    r.TX_ASK: 0x00,
    r.TX_SEL: 0x10,
    r.RX_SEL: 0x84,
    r.RX_THRESHOLD: 0x84,
    r.DEMOD: 0x4D,
    r.MF_TX: 0x62,
    r.MF_RX: 0x00,
    r.SERIAL_SPEED: 0xEB,
    r.CRC_RESULT_H: 0xFF,
    r.CRC_RESULT_L: 0xFF,
    r.MOD_WIDTH: 0x26,
    r.RF_CFG: 0x48,
    r.GS_N: 0x88,
    r.CW_GS_P: 0x20,
    r.MOD_GS_P: 0x20,
    r.T_MODE: 0x00,
    r.T_PRESCALER: 0x00,
    r.T_RELOAD_H: 0x00,
    r.T_RELOAD_L: 0x00,
    r.TEST_SEL1: 0x00,
    r.TEST_SEL2: 0x00,
    r.TEST_PIN_EN: 0x80,
    r.TEST_PIN_VALUE: 0x00,
    r.AUTO_TEST: 0x40,
    r.ANALOG_TEST: 0x00,
    r.TEST_DAC1: 0x00,
    r.TEST_DAC2: 0x00,
    # ADC_I and ADC_Q at mid-scale (8 and 8) with no signal: what a real v2.0 chip reads after
    # reset (raspberrypi/linux#1547); the datasheet gives no reset value for this read-only register.
    r.TEST_ADC: 0x88,
}

CRC_PRESETS = {0: 0x0000, 1: 0x6363, 2: 0xA671, 3: 0xFFFF}


def reset_bank() -> bytearray:
    bank = bytearray(64)
    for reg, value in RESET_VALUES.items():
        bank[reg] = value
    return bank


def apply_set1(current: int, written: int, mask: int) -> int:
    """ComIrqReg/DivIrqReg writes: bit 7 = 1 sets the written bits, bit 7 = 0 clears them."""
    bits = written & mask
    return (current | bits) if written & 0x80 else (current & ~bits)
