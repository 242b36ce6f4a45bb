"""The emulated chip's CRC_A hardware: TxCRCEn appends it to what is sent, RxCRCEn checks what comes back.

The driver computes CRC_A on the host (drivers/crc.py, fewer register accesses), so it leaves both
bits off; these tests drive the hardware path at register level against a card the real driver
selected, so a driver (or a trace from a real board) that turns them on meets the chip's behaviour.
"""

from __future__ import annotations

import pytest

from drivers import registers as r
from drivers.crc import with_crc
from drivers.emulator import Field, MFRC522Emulator, Ntag213
from drivers.mfrc522 import MF_READ, Mfrc522
from drivers.transport.emulator import EmulatorTransport

UID = bytes.fromhex("04112233445566")


@pytest.fixture
def selected():
    chip = MFRC522Emulator(Field())
    driver = Mfrc522(EmulatorTransport(chip))
    driver.init()
    tag = Ntag213(UID)
    tag.set_page(4, b"KIOS")
    chip.field.present(tag)
    assert driver.activate() is not None
    return chip


def _transceive(chip: MFRC522Emulator, data: bytes) -> tuple[int, bytes]:
    chip.write_register(r.COMMAND, r.CMD_IDLE)
    chip.write_register(r.COM_IRQ, r.IRQ_ALL)
    chip.write_register(r.FIFO_LEVEL, r.FIFO_FLUSH)
    for value in data:
        chip.write_register(r.FIFO_DATA, value)
    chip.write_register(r.COMMAND, r.CMD_TRANSCEIVE)
    chip.write_register(r.BIT_FRAMING, r.BIT_FRAMING_START_SEND)
    chip.advance(0.01)  # long enough for an EEPROM write's ACK
    level = chip.read_register(r.FIFO_LEVEL)
    return chip.read_register(r.ERROR), bytes(chip.read_register(r.FIFO_DATA) for _ in range(level))


def test_tx_crc_appends_crc_a_and_rx_crc_checks_and_strips_it(selected):
    selected.write_register(r.TX_MODE, r.TX_MODE_CRC_EN)
    selected.write_register(r.RX_MODE, r.RX_MODE_CRC_EN)
    error, data = _transceive(selected, bytes((MF_READ, 4)))  # no CRC from the host
    assert selected.field.sent_frames[-1].data == with_crc(bytes((MF_READ, 4)))
    assert error == 0
    assert data[:4] == b"KIOS" and len(data) == 16


def test_rx_crc_flags_a_damaged_answer_as_crc_err(selected):
    selected.write_register(r.TX_MODE, r.TX_MODE_CRC_EN)
    selected.write_register(r.RX_MODE, r.RX_MODE_CRC_EN)
    selected.field.corrupt_next_frames(1, "crc")
    error, data = _transceive(selected, bytes((MF_READ, 4)))
    assert error & r.ERR_CRC
    assert len(data) == 18  # a failed check leaves the frame as received
    assert selected.read_register(r.COM_IRQ) & r.IRQ_ERR


def test_rx_crc_fails_a_4_bit_answer(selected):
    selected.write_register(r.RX_MODE, r.RX_MODE_CRC_EN)
    error, data = _transceive(selected, with_crc(bytes((0xA2, 5)) + b"ABCD"))  # WRITE: 4-bit ACK
    assert error & r.ERR_CRC
    assert data == b"\x0a"


def test_with_crc_bits_off_the_frame_goes_out_and_comes_back_as_is(selected):
    error, data = _transceive(selected, with_crc(bytes((MF_READ, 4))))
    assert error == 0
    assert data == with_crc(data[:16])
