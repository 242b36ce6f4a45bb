"""The emulated chip's command unit: Transceive, Transmit, MFAuthent, CalcCRC, SoftReset.

Each RF exchange is a chain of events in modelled time: the frame's air time, TxIRq, the timer
starting (TAuto), the card's answer after the ISO 14443 frame delay, RxIRq with the FIFO filled and
ErrorReg set. A command whose card never answers just sits there until the timer fires, as on the
real chip: it is the host's job to give up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers import registers as r
from drivers.crc import crc_a
from drivers.emulator.cards.classic import AuthOutcome
from drivers.emulator.field import Field
from drivers.emulator.fifo import Fifo
from drivers.emulator.regfile import CRC_PRESETS
from drivers.emulator.rf import Frame, Reception
from drivers.emulator.timer import Timer
from drivers.emulator.timing import FRAME_DELAY_S, TimingModel


class ChipState(Protocol):
    """What the command unit reads and moves on the chip (drivers/emulator/chip.py implements it).

    A protocol rather than an import of the chip class: the chip owns its command unit, and the
    unit sees only this much of the chip.
    """

    command: int
    command_generation: int
    hung: str | None
    error: int
    com_irq: int
    crypto_on: bool
    rx_last_bits: int
    listening: bool
    overlapped_commands: int
    model_time_s: float
    fifo: Fifo
    field: Field
    timer: Timer
    timing: TimingModel

    def reg(self, reg: int) -> int: ...

    def set_reg(self, reg: int, value: int) -> None: ...

    def soft_reset(self) -> None: ...

    def begin_crc(self) -> None: ...

    def mem_transfer(self) -> None: ...

    def start_timer(self) -> None: ...

    def schedule(self, at: float, kind: str, action: Callable[[], None]) -> None: ...


class CommandUnit:
    def __init__(self, chip: ChipState) -> None:
        self.chip = chip

    def start(self, command: int) -> None:
        chip = self.chip
        if command == r.CMD_SOFT_RESET:
            chip.soft_reset()
            return
        if command != r.CMD_IDLE and chip.command != r.CMD_IDLE:
            # The chip abandons the running command without a word (datasheet 10.3.1.1); a
            # Transceive never ends by itself, so only an Idle in between makes this clean.
            chip.overlapped_commands += 1
        chip.command_generation += 1  # whatever was running is abandoned
        chip.command = command
        chip.listening = False
        if chip.hung is not None:
            return  # accepted into CommandReg, never executed
        if command == r.CMD_IDLE:
            return  # host-issued Idle does not set IdleIRq
        chip.error = 0
        if command == r.CMD_CALC_CRC:
            chip.begin_crc()
        elif command == r.CMD_MEM:
            chip.mem_transfer()
            self._finish()
        elif command == r.CMD_TRANSMIT:
            self._transmit(expect_answer=False)
        elif command in (r.CMD_TRANSCEIVE, r.CMD_RECEIVE):
            pass  # Transceive waits for StartSend; Receive waits for a card that never talks first
        elif command == r.CMD_MF_AUTHENT:
            self._authenticate()
        else:
            self._finish()  # GenerateRandomID and unknown codes: end at once

    def start_send(self) -> None:
        if self.chip.hung is None:
            self.chip.error = 0
            self._transmit(expect_answer=True)

    def _finish(self) -> None:
        self.chip.command = r.CMD_IDLE
        self.chip.com_irq |= r.IRQ_IDLE

    def _transmit(self, expect_answer: bool) -> None:
        chip = self.chip
        data = chip.fifo.drain()
        last_bits = chip.reg(r.BIT_FRAMING) & 0x07
        if data and not last_bits and chip.reg(r.TX_MODE) & r.TX_MODE_CRC_EN:
            crc = crc_a(data, self._crc_preset())
            data += bytes((crc & 0xFF, crc >> 8))
        frame = Frame.of(data, last_bits)
        reception = chip.field.exchange(frame, chip.crypto_on) if chip.field.powered and data else None
        end = chip.model_time_s + TimingModel.frame_s(frame.nbits)

        def sent() -> None:
            chip.com_irq |= r.IRQ_TX
            if not expect_answer:
                self._finish()
                return
            chip.listening = True
            self._start_timer_if_auto()
            if reception is not None:
                self._expect(reception, chip.model_time_s)

        chip.schedule(end, "cmd", sent)

    def _start_timer_if_auto(self) -> None:
        if self.chip.reg(r.T_MODE) & r.T_MODE_TAUTO:
            self.chip.start_timer()

    def _expect(self, reception: Reception, sent_at: float) -> None:
        chip = self.chip
        first_bit = sent_at + FRAME_DELAY_S + reception.delay_s

        def receiving() -> None:
            if chip.reg(r.T_MODE) & r.T_MODE_TAUTO:
                chip.timer.stop(chip.model_time_s)
            chip.schedule(
                first_bit + TimingModel.frame_s(reception.frame.nbits), "cmd", lambda: self._received(reception)
            )

        chip.schedule(first_bit, "cmd", receiving)

    def _received(self, reception: Reception) -> None:
        chip = self.chip
        align = (chip.reg(r.BIT_FRAMING) >> 4) & 0x07
        bits = [0] * align + reception.frame.bits()
        error = 0
        if reception.collision_at:
            error |= r.ERR_COLL
            position = reception.collision_at + align
            if not chip.reg(r.COLL) & r.COLL_VALUES_AFTER_COLL:
                bits = bits[:position] + [0] * (len(bits) - position)
            chip.set_reg(
                r.COLL,
                (chip.reg(r.COLL) & r.COLL_VALUES_AFTER_COLL)
                | (r.COLL_POS_NOT_VALID if position > 32 else position % 32),
            )
        if reception.parity_error:
            error |= r.ERR_PARITY
        packed = Frame.from_bits(bits)
        data = packed.data
        if chip.reg(r.RX_MODE) & r.RX_MODE_CRC_EN and not reception.collision_at:
            # The checked CRC bytes are not passed to the FIFO; a frame too short to hold a CRC
            # (a 4-bit ACK) fails the check, which is why drivers turn RxCRCEn off around ACKs.
            if (
                packed.nbits % 8 == 0
                and len(data) >= 3
                and crc_a(data[:-2], self._crc_preset()) == (data[-2] | data[-1] << 8)
            ):
                data = data[:-2]
            else:
                error |= r.ERR_CRC
        self._land(data, packed.nbits % 8, error)

    def receive_noise(self, data: bytes) -> None:
        """The listening receiver takes RF noise for a frame; it ends the reception like one."""
        chip = self.chip
        chip.command_generation += 1  # a card's answer after this finds the receiver off
        if chip.reg(r.T_MODE) & r.T_MODE_TAUTO:
            chip.timer.stop(chip.model_time_s)
        self._land(data, 0, 0)

    def _land(self, data: bytes, last_bits: int, error: int) -> None:
        chip = self.chip
        chip.listening = False  # Transceive now waits for the next StartSend
        chip.fifo.extend(data)
        chip.rx_last_bits = last_bits
        # ErrorReg shows BufferOvfl from the FIFO itself, so that FlushBuffer clears it.
        chip.error = error
        chip.com_irq |= r.IRQ_RX | (r.IRQ_ERR if error or chip.fifo.overflowed else 0)
        if chip.command == r.CMD_RECEIVE:
            self._finish()

    def _crc_preset(self) -> int:
        return CRC_PRESETS[self.chip.reg(r.MODE) & 0x03]

    def _authenticate(self) -> None:
        chip = self.chip
        data = chip.fifo.drain()
        t = chip.model_time_s
        if len(data) < 12:
            chip.error = r.ERR_PROTOCOL
            chip.com_irq |= r.IRQ_ERR
            self._finish()
            return
        outcome = chip.field.authenticate(data[0], data[1], data[2:8], data[8:12], chip.crypto_on)
        timing = chip.timing
        command_sent = t + TimingModel.frame_s(32)
        nonce_back = command_sent + FRAME_DELAY_S + timing.auth_processing_s + TimingModel.frame_s(32)
        answer_sent = nonce_back + FRAME_DELAY_S + TimingModel.frame_s(64)
        token_back = answer_sent + FRAME_DELAY_S + timing.auth_processing_s + TimingModel.frame_s(32)
        if outcome is AuthOutcome.OK:

            def authenticated() -> None:
                chip.crypto_on = True
                self._finish()

            chip.schedule(token_back, "cmd", authenticated)
            return
        # No answer at some step: the command waits; the timer (TAuto) will fire.
        silent_from = command_sent if outcome is AuthOutcome.NO_ANSWER else answer_sent
        chip.schedule(silent_from, "cmd", self._start_timer_if_auto)
