"""Register-level MFRC522 emulator: the host side (registers, FIFO, IRQs, timer, time, faults).

The protocol driver talks to it through a transport exactly as to the real chip. Modelled time
(`model_time_s`) advances with bus traffic (charged by the transport), with `advance()` (a transport
waiting), and every RF frame or card answer is an event at its modelled time, so latency can be
computed from the same register traffic the real driver produces. The commands that talk to cards
live in `commands.py`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable

from drivers import registers as r
from drivers.chips import SELF_TEST_LENGTH, VERSION_V2, describe
from drivers.crc import crc_a
from drivers.emulator.command_unit import CommandUnit
from drivers.emulator.field import Field
from drivers.emulator.fifo import Fifo
from drivers.emulator.regfile import CRC_PRESETS, apply_set1, reset_bank
from drivers.emulator.timer import Timer
from drivers.emulator.timing import TimingModel
from drivers.transport.base import TransportStats, check_register, check_value

_LOG = logging.getLogger(__name__)

HANG_KINDS = {
    "rf": "commands never finish and the timer stops; a soft reset cures it",
    "bus": "every read returns 0x00 and writes are lost; only the reset pin cures it",
    "dead": "like 'bus', and the reset pin does not help either",
}
DEAD_BUS_VERSIONS = (0x00, 0xFF)


class MFRC522Emulator:
    """One emulated MFRC522 with its antenna field.

    `version` is what VersionReg reads: any value of drivers/chips.py's table (NXP, Fudan clones,
    counterfeits) or any other; 0x00 or 0xFF model a dead bus (every read returns that value).
    `self_test` is what the digital self-test leaves in the FIFO; by default the published
    reference for `version`, and for a version without one, bytes no reference matches (a
    counterfeit that claims 0x92 but fails the test, miguelbalboa/rfid#428: pass its bytes here).
    """

    def __init__(
        self,
        field: Field | None = None,
        *,
        version: int = VERSION_V2,
        timing: TimingModel | None = None,
        self_test: bytes | None = None,
    ) -> None:
        self.field = field if field is not None else Field()
        self.timing = timing or TimingModel()
        self.version = version
        self.self_test_result = self_test if self_test is not None else _default_self_test(version)
        # NRSTPD: low holds the chip in reset (every register reads 0x00, writes are lost); after
        # it rises the oscillator needs timing.wake_up_s before the chip answers again.
        self.reset_pin_high = True
        self._awake_at = 0.0
        # The Mem command's 25-byte buffer. Neither reset clears it (datasheet 10.3.1.10), and
        # what it holds after power-up is undefined, which is why the self-test writes zeros first.
        self.internal_buffer = bytes([0xFF] * 25)
        self.model_time_s = 0.0
        self.hung: str | None = None
        self.bus_stats = TransportStats()  # register accesses as seen on the chip's pins
        self.resets = {"soft": 0, "hard": 0}
        # Host mistakes a real chip only hints at (a command written over a running one, a FIFO
        # write while the receiver listens); counted here so tests can prove the driver never does it.
        self.overlapped_commands = 0
        self.wr_errors = 0
        self._events: list[tuple[float, int, str, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.field.attach(lambda: self.model_time_s, self.timing)
        self.command_unit = CommandUnit(self)
        self._reset_state()

    # --- modelled time ---------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let `seconds` of modelled time pass, firing due events (frames, timer, card answers)."""
        self.advance_to(self.model_time_s + max(seconds, 0.0))

    def advance_to(self, when: float) -> None:
        while self._events and self._events[0][0] <= when:
            at, _, kind, generation, action = heapq.heappop(self._events)
            self.model_time_s = max(self.model_time_s, at)
            if self.hung is not None:
                continue  # a hung chip drops everything it was doing
            if generation == (self.command_generation if kind == "cmd" else self.timer.generation):
                action()
        self.model_time_s = max(self.model_time_s, when)

    def schedule(self, at: float, kind: str, action: Callable[[], None]) -> None:
        generation = self.command_generation if kind == "cmd" else self.timer.generation
        heapq.heappush(self._events, (at, next(self._seq), kind, generation, action))

    def charge_spi(self, nbytes: int) -> None:
        """Bus time of one SPI transaction of `nbytes` (called by the SPI-side wires)."""
        self.advance(self.timing.spi_transaction_s(nbytes))

    def charge_uart(self, nbytes: int) -> None:
        self.advance(self.timing.uart_bytes_s(nbytes, self.uart_baud))

    @property
    def uart_baud(self) -> int:
        return r.BAUD_BY_SERIAL_SPEED.get(self._regs[r.SERIAL_SPEED], self.timing.uart_baud)

    # --- faults and resets -------------------------------------------------------------------
    def hang(self, kind: str = "rf") -> None:
        """Make the chip stop answering; see HANG_KINDS for what cures each kind."""
        if kind not in HANG_KINDS:
            raise ValueError(f"hang kind must be one of {sorted(HANG_KINDS)}")
        _LOG.debug("chip hangs (%s)", kind)
        self.hung = kind
        self.timer.stop(self.model_time_s)

    def hard_reset(self) -> None:
        """NRSTPD pulse (low, then high): power-on state, then `timing.wake_up_s` asleep."""
        self.set_reset_pin(False)
        self.advance(self.timing.hard_reset_s)
        self.set_reset_pin(True)

    def set_reset_pin(self, high: bool) -> None:
        """Drive NRSTPD. Low: in reset, every register reads 0x00. Rising: power-on state, and the
        chip reads 0x00 for `timing.wake_up_s` more (its oscillator starting). A 'dead' chip
        ignores the pin."""
        if self.hung == "dead":
            return
        if not high:
            if self.reset_pin_high:
                self.reset_pin_high = False
                self._reset_state()
            return
        if self.reset_pin_high:
            return  # no edge
        self.reset_pin_high = True
        self.resets["hard"] += 1
        self.hung = None
        self._reset_state()
        self._awake_at = self.model_time_s + self.timing.wake_up_s

    @property
    def awake(self) -> bool:
        """False while the reset pin is low or the oscillator is still starting after it rose."""
        return self.reset_pin_high and self.model_time_s >= self._awake_at

    def glitch(self) -> None:
        """A brown-out or EMI spike the chip survives without a reset pulse: every register back
        to its reset value (antenna off, timer unset), VersionReg of course unchanged. The field
        reports of readers that "stop reading after hours" while VersionReg still reads right."""
        _LOG.debug("chip glitch: registers back to reset values")
        self._reset_state()

    def soft_reset(self) -> None:
        """SoftReset command: registers back to reset values; cures an 'rf' hang."""
        self.resets["soft"] += 1
        if self.hung == "rf":
            self.hung = None
        self._reset_state()
        self._busy_until = self.model_time_s + self.timing.soft_reset_s

    def _reset_state(self) -> None:
        self._regs = reset_bank()
        self.fifo = Fifo()
        self.command = r.CMD_IDLE
        self.command_generation = getattr(self, "command_generation", 0) + 1
        self.com_irq = 0x14
        self.div_irq = 0x00
        self.error = 0x00
        self.crypto_on = False
        self.rx_last_bits = 0
        # True from the end of a Transceive's frame until something is received or a new command is
        # written: the timer firing does not stop the receiver.
        self.listening = False
        self.crc_value = 0xFFFF
        self.crc_ready = True
        self._busy_until = 0.0
        if not hasattr(self, "timer"):
            self.timer = Timer()
        self.timer.stop(self.model_time_s)
        self.timer.frozen_value = 0
        self.field.set_power(False)

    def _bus_dead_value(self) -> int | None:
        if self.hung in ("bus", "dead") or not self.awake:
            return 0x00
        if self.version in DEAD_BUS_VERSIONS:
            return self.version
        return None

    # --- register interface (called by transports and wires) ----------------------------------
    def read_register(self, reg: int) -> int:
        check_register(reg)
        self.bus_stats.register_reads += 1
        dead = self._bus_dead_value()
        if dead is not None:
            return dead
        return self._read(reg)

    def write_register(self, reg: int, value: int) -> None:
        check_register(reg)
        check_value(value)
        self.bus_stats.register_writes += 1
        if self._bus_dead_value() is not None:
            return
        self._write(reg, value)

    def _read(self, reg: int) -> int:
        now = self.model_time_s
        if reg == r.FIFO_DATA:
            value = self.fifo.pop()
            self._update_alerts()
            return value
        if reg == r.FIFO_LEVEL:
            return len(self.fifo)
        if reg == r.COMMAND:
            busy = r.COMMAND_POWER_DOWN if now < self._busy_until else 0
            return (self._regs[r.COMMAND] & 0x20) | busy | self.command
        if reg == r.COM_IRQ:
            return self.com_irq & 0x7F
        if reg == r.DIV_IRQ:
            return self.div_irq & 0x14
        if reg == r.ERROR:
            return self.error | (r.ERR_BUFFER_OVFL if self.fifo.overflowed else 0)
        if reg == r.STATUS1:
            return self._status1()
        if reg == r.STATUS2:
            return (self._regs[r.STATUS2] & 0xC0) | (r.STATUS2_CRYPTO1_ON if self.crypto_on else 0)
        if reg == r.CONTROL:
            return 0x10 | self.rx_last_bits
        if reg == r.T_COUNTER_H:
            return self.timer.value(now) >> 8
        if reg == r.T_COUNTER_L:
            return self.timer.value(now) & 0xFF
        if reg == r.CRC_RESULT_H:
            return self.crc_value >> 8
        if reg == r.CRC_RESULT_L:
            return self.crc_value & 0xFF
        if reg == r.VERSION:
            return self.version
        return self._regs[reg]

    def _write(self, reg: int, value: int) -> None:
        if reg == r.COMMAND:
            self._regs[r.COMMAND] = value & 0x30
            if value & 0x0F != r.CMD_NO_CHANGE:
                self.command_unit.start(value & 0x0F)
        elif reg == r.COM_IRQ:
            self.com_irq = apply_set1(self.com_irq, value, 0x7F)
        elif reg == r.DIV_IRQ:
            self.div_irq = apply_set1(self.div_irq, value, 0x14)
        elif reg == r.FIFO_DATA:
            if self.listening or self.command == r.CMD_MF_AUTHENT:
                # WrErr: the host wrote the FIFO between the last bit sent and the last bit received.
                self.error |= r.ERR_WR
                self.wr_errors += 1
            self.fifo.push(value)
            if self.command == r.CMD_CALC_CRC and self.hung is None:
                self.feed_crc(self.fifo.drain())
            self._update_alerts()
        elif reg == r.FIFO_LEVEL:
            if value & r.FIFO_FLUSH:
                self.fifo.flush()
                self._update_alerts()
        elif reg == r.BIT_FRAMING:
            self._regs[reg] = value
            if value & r.BIT_FRAMING_START_SEND and self.command == r.CMD_TRANSCEIVE:
                self.command_unit.start_send()
        elif reg == r.CONTROL:
            if value & r.CONTROL_TSTOP_NOW:
                self.timer.stop(self.model_time_s)
            if value & r.CONTROL_TSTART_NOW:
                self.start_timer()
        elif reg == r.STATUS2:
            self._regs[reg] = value & 0xC0
            if not value & r.STATUS2_CRYPTO1_ON:
                self.crypto_on = False  # software may only clear MFCrypto1On
        elif reg == r.TX_CONTROL:
            self._regs[reg] = value
            self.field.set_power(bool(value & r.TX_CONTROL_ANTENNA))
        elif reg in (r.ERROR, r.STATUS1, r.VERSION, r.CRC_RESULT_H, r.CRC_RESULT_L, r.T_COUNTER_H, r.T_COUNTER_L):
            pass  # read-only
        else:
            self._regs[reg] = value

    def rf_noise(self, data: bytes) -> bool:
        """RF noise that the receiver takes for a frame: lands in the FIFO (RxIRq) if the receiver
        is listening, as it still is after a Transceive whose timer fired. Returns whether it landed."""
        if not self.listening or self.hung is not None or not data:
            return False
        self.command_unit.receive_noise(bytes(data))
        return True

    def set_reg(self, reg: int, value: int) -> None:
        """Set a register's stored value from inside the chip (no write side effects)."""
        self._regs[reg] = value

    def reg(self, reg: int) -> int:
        """Stored value of a configuration register (for the command unit and tests)."""
        return self._regs[reg]

    # --- the IRQ pin ----------------------------------------------------------------------------
    def irq_pending(self) -> bool:
        """Status1Reg's IRq bit: an interrupt enabled in ComIEnReg or DivIEnReg is set."""
        return bool((self.com_irq & self._regs[r.COM_IEN] & 0x7F) or (self.div_irq & self._regs[r.DIV_IEN] & 0x14))

    def irq_output(self) -> int | None:
        """What the chip drives on pin IRQ: IRq, inverted when ComIEnReg.IRqInv (bit 7) is set.

        At reset DivIEnReg.IRQPushPull (bit 7) is 0 and the pin is open drain: it can only pull
        low, so None (released) means the board's pull-up decides the level.
        """
        level = self.irq_pending() != bool(self._regs[r.COM_IEN] & 0x80)
        if level and not self._regs[r.DIV_IEN] & 0x80:
            return None
        return int(level)

    def advance_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        """Let at most `seconds` of modelled time pass, stopping at the first event after which
        `condition()` holds (a host waiting for an edge on the IRQ pin). Returns `condition()`."""
        deadline = self.model_time_s + max(seconds, 0.0)
        if condition():
            return True
        while self._events and self._events[0][0] <= deadline:
            self.advance_to(self._events[0][0])
            if condition():
                return True
        self.advance_to(deadline)
        return condition()

    # --- helpers used by the command unit ---------------------------------------------------------
    def start_timer(self) -> None:
        if self.hung is not None:
            return
        reload = (self._regs[r.T_RELOAD_H] << 8) | self._regs[r.T_RELOAD_L]
        period = Timer.period_for(self._regs[r.T_MODE], self._regs[r.T_PRESCALER])
        expiry = self.timer.start(self.model_time_s, reload, period)
        self.schedule(expiry, "timer", self._timer_expired)

    def _timer_expired(self) -> None:
        self.timer.expire()
        self.com_irq |= r.IRQ_TIMER
        if self._regs[r.T_MODE] & 0x10:  # TAutoRestart
            self.start_timer()

    def begin_crc(self) -> None:
        if self._regs[r.AUTO_TEST] & 0x0F == r.AUTO_TEST_SELF_TEST & 0x0F:
            self._self_test()
            return
        self.crc_value = CRC_PRESETS[self._regs[r.MODE] & 0x03]
        self.crc_ready = False
        self.feed_crc(self.fifo.drain())

    def feed_crc(self, data: bytes) -> None:
        if data:
            self.crc_value = crc_a(data, self.crc_value)
            # CRC_A is computed LSB first; CRCResultReg holds it MSB in 0x21, LSB in 0x22.
        self.crc_ready = True
        self.div_irq |= r.DIV_IRQ_CRC

    def _self_test(self) -> None:
        """Datasheet 16.1.1: CalcCRC with AutoTestReg SelfTest = 1001b fills the FIFO with 64 bytes
        that depend on the silicon, and on the internal buffer holding the 25 zeros step 2 asks for."""
        self.fifo.flush()
        if self.internal_buffer == bytes(25):
            result = self.self_test_result
        else:  # the test ran over leftover buffer contents: nothing a reference will match
            result = bytes(b ^ 0x5A for b in self.self_test_result)
        self.fifo.extend(result)
        self._update_alerts()

    def mem_transfer(self) -> None:
        """The Mem command: the FIFO's first 25 bytes into the internal buffer; with an empty FIFO
        the other way round (datasheet 10.3.1.2)."""
        if len(self.fifo):
            data = self.fifo.drain()[:25]
            self.internal_buffer = data + self.internal_buffer[len(data) :]
        else:
            self.fifo.extend(self.internal_buffer)
        self._update_alerts()

    def _status1(self) -> int:
        water = self._regs[r.WATER_LEVEL]
        level = len(self.fifo)
        value = 0
        if level <= water:
            value |= 0x01
        if 64 - level <= water:
            value |= 0x02
        if self.timer.running:
            value |= 0x08
        if (self.com_irq & self._regs[r.COM_IEN] & 0x7F) or (self.div_irq & self._regs[r.DIV_IEN] & 0x14):
            value |= 0x10
        if self.crc_ready:
            value |= 0x20
        if self.crc_ready and self.crc_value == 0:
            value |= 0x40
        return value

    def _update_alerts(self) -> None:
        water = self._regs[r.WATER_LEVEL]
        if len(self.fifo) <= water:
            self.com_irq |= r.IRQ_LO_ALERT
        if 64 - len(self.fifo) <= water:
            self.com_irq |= r.IRQ_HI_ALERT


def _default_self_test(version: int) -> bytes:
    """The published self-test reference for `version`; for a chip without one, 64 bytes derived
    from the version that match no reference (what clones without a reference produce)."""
    reference = describe(version).self_test
    if reference is not None:
        return reference
    return bytes((0x00,)) + bytes((version * 37 + i * 101) & 0xFF for i in range(1, SELF_TEST_LENGTH))
