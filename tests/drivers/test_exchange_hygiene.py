"""Exchange hygiene: what lands in the chip between exchanges never goes out with the next frame.

A Transceive never ends by itself: after its timer fires the receiver is still listening, so RF
noise or a card's late answer can land in the FIFO in the gap before the next poll. Each test names
what the emulated chip does (first at register level, as a driver that skips Idle and the flush
would drive it) and then shows the real driver coping with it.
"""

from __future__ import annotations

import pytest

from drivers import registers as r
from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, Ntag213
from drivers.emulator.rf import Frame
from drivers.mfrc522 import REQA, WUPA, Mfrc522
from drivers.session import open_session
from drivers.transport.emulator import EmulatorTransport

UID = bytes.fromhex("a1b2c3d4")
KEY = b"\xff" * 6
REQA_ONLY = Frame.of(bytes((REQA,)), 7)
WUPA_ONLY = Frame.of(bytes((WUPA,)), 7)


@pytest.fixture
def chip():
    chip = MFRC522Emulator(Field())
    chip.write_register(r.TX_CONTROL, 0x83)  # antenna on
    chip.write_register(r.T_MODE, r.T_MODE_TAUTO)
    chip.write_register(r.T_PRESCALER, 0xA9)  # 40 kHz: 25 us ticks
    chip.write_register(r.T_RELOAD_L, 20)  # 0.5 ms
    return chip


def _send_raw(chip: MFRC522Emulator, data: bytes, last_bits: int = 0, *, clean: bool) -> None:
    """Load and start a Transceive as a driver would; `clean` = Idle and flush first."""
    if clean:
        chip.write_register(r.COMMAND, r.CMD_IDLE)
        chip.write_register(r.FIFO_LEVEL, r.FIFO_FLUSH)
    chip.write_register(r.COM_IRQ, r.IRQ_ALL)
    for value in data:
        chip.write_register(r.FIFO_DATA, value)
    chip.write_register(r.COMMAND, r.CMD_TRANSCEIVE)
    chip.write_register(r.BIT_FRAMING, r.BIT_FRAMING_START_SEND | last_bits)


@pytest.fixture
def driver():
    field = Field()
    chip = MFRC522Emulator(field)
    driver = Mfrc522(EmulatorTransport(chip))
    driver.init()
    return driver


def _chip(driver: Mfrc522) -> MFRC522Emulator:
    return driver.transport.chip  # type: ignore[attr-defined, no-any-return]  # EmulatorTransport


# --- what the emulated chip does --------------------------------------------------------------------
def test_the_receiver_keeps_listening_after_the_timer_fires(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    assert chip.read_register(r.COM_IRQ) & r.IRQ_TIMER
    assert chip.read_register(r.COMMAND) & 0x0F == r.CMD_TRANSCEIVE  # a Transceive never ends itself
    assert chip.rf_noise(b"\x5a\xa5")
    assert chip.read_register(r.FIFO_LEVEL) == 2
    assert chip.read_register(r.COM_IRQ) & r.IRQ_RX


def test_noise_does_not_land_once_the_host_wrote_idle(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    chip.write_register(r.COMMAND, r.CMD_IDLE)
    assert not chip.rf_noise(b"\x5a\xa5")
    assert chip.read_register(r.FIFO_LEVEL) == 0


def test_without_the_flush_a_reqa_goes_out_behind_the_noise_and_the_card_stays_silent(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    chip.field.present(MifareClassic1K(UID))
    chip.rf_noise(b"\x5a\xa5")
    _send_raw(chip, bytes((REQA,)), 7, clean=False)
    chip.advance(0.002)
    assert chip.field.sent_frames[-1] == Frame.of(b"\x5a\xa5\x26", 7)  # garbage + REQA on air
    assert not chip.read_register(r.COM_IRQ) & r.IRQ_RX
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    assert chip.read_register(r.COM_IRQ) & r.IRQ_RX
    assert [chip.read_register(r.FIFO_DATA) for _ in range(2)] == [0x04, 0x00]


def test_a_late_answer_lands_in_the_fifo_after_the_timer_fired(chip):
    chip.field.present(MifareClassic1K(UID))
    chip.field.delay_next_answers(1, 0.002)
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.0015)
    assert chip.read_register(r.COM_IRQ) & (r.IRQ_TIMER | r.IRQ_RX) == r.IRQ_TIMER
    assert chip.read_register(r.FIFO_LEVEL) == 0
    chip.advance(0.002)
    assert chip.read_register(r.COM_IRQ) & r.IRQ_RX
    assert chip.read_register(r.FIFO_LEVEL) == 2  # the ATQA, after the host gave up


def test_a_command_written_over_a_running_transceive_is_flagged(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    assert chip.overlapped_commands == 0
    _send_raw(chip, bytes((REQA,)), 7, clean=False)
    assert chip.overlapped_commands == 1
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    assert chip.overlapped_commands == 1


def test_a_fifo_write_while_the_receiver_listens_is_wr_err(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    chip.write_register(r.FIFO_DATA, REQA)
    assert chip.read_register(r.ERROR) & r.ERR_WR
    assert chip.wr_errors == 1


def test_a_burst_longer_than_the_fifo_is_buffer_overflow_until_flushed(chip):
    _send_raw(chip, bytes((REQA,)), 7, clean=True)
    chip.advance(0.002)
    chip.rf_noise(bytes(70))
    assert chip.read_register(r.FIFO_LEVEL) == 64
    assert chip.read_register(r.ERROR) & r.ERR_BUFFER_OVFL
    assert chip.read_register(r.COM_IRQ) & r.IRQ_ERR
    chip.write_register(r.FIFO_LEVEL, r.FIFO_FLUSH)
    assert not chip.read_register(r.ERROR) & r.ERR_BUFFER_OVFL


# --- the driver ---------------------------------------------------------------------------------------
def test_noise_between_polls_never_goes_out_with_the_next_request(driver):
    chip = _chip(driver)
    assert driver.request(wake=True) is None
    chip.field.present(MifareClassic1K(UID))
    assert chip.rf_noise(b"\x5a\xa5")  # the receiver was still listening
    assert driver.request(wake=True) == b"\x04\x00"
    assert chip.field.sent_frames[-1] == WUPA_ONLY


def test_a_late_answer_after_a_timeout_never_goes_out_with_the_next_request(driver):
    chip = _chip(driver)
    card = MifareClassic1K(UID)
    chip.field.present(card)
    chip.field.delay_next_answers(1, 0.001)  # the ATQA comes after the driver's 0.3 ms timer
    assert driver.request(wake=True) is None
    chip.advance(0.002)
    assert len(chip.fifo) == 2  # the late ATQA is sitting in the FIFO
    infos = [driver.activate(wake=True) for _ in range(2)]
    # The card was left READY by its late answer, so the first WUPA knocks it to IDLE; the second
    # finds it. Every frame on air was the bare request or an activation frame, never the ATQA.
    assert infos[-1] is not None and infos[-1].uid == UID
    assert all(frame.data[:1] in (b"\x52", b"\x93") for frame in chip.field.sent_frames)


def test_no_command_is_ever_written_over_a_running_one_and_no_fifo_write_is_wr_err(driver):
    chip = _chip(driver)
    for _ in range(3):
        driver.request(wake=True)
        chip.advance(0.028)
    chip.field.present(MifareClassic1K(UID))
    chip.field.present(tag := Ntag213(bytes.fromhex("04112233445566")))
    chip.field.remove(tag)
    session = open_session(driver)
    assert session is not None
    session.authenticate(4, KEY)
    session.read_block(4)
    session.write_block(5, bytes(range(16)))
    session.halt()
    chip.field.remove_all()
    driver.request(wake=True)
    assert chip.overlapped_commands == 0
    assert chip.wr_errors == 0


def test_rx_gain_is_written_without_touching_rfcfg_reserved_bits():
    chip = MFRC522Emulator(Field())
    Mfrc522(EmulatorTransport(chip), rx_gain=7).init()
    assert chip.reg(r.RF_CFG) == 0x78  # reserved bit 3 keeps its reset value (0x48 = gain 4 | 0x08)
