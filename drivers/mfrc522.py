"""MFRC522 protocol driver: ISO 14443A activation and MIFARE commands over any RegisterTransport.

Every wait is bounded: the chip's timer (TAuto) ends each exchange, and the host waits first for
the time the answer needs on air, then for the timer, checking ComIrqReg once or twice rather than
busy-polling it; a chip whose timer never fires within the budget is a `BusFault`. CRC_A is
computed on the host, which saves the dozen register accesses a CalcCRC round trip would cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers import registers as r
from drivers.chips import NO_CHIP, SELF_TEST_LENGTH, SelfTestResult, describe, is_known, judge_self_test
from drivers.crc import check_crc, with_crc
from drivers.errors import AuthError, BusFault, CardTimeout, CollisionError, FrameError, NakError
from drivers.transport.base import RegisterTransport

_LOG = logging.getLogger(__name__)

REQA, WUPA = 0x26, 0x52
REQA_FRAME, WUPA_FRAME = bytes((REQA,)), bytes((WUPA,))
SEL = (0x93, 0x95, 0x97)
HLTA = b"\x50\x00"
MF_READ, MF_WRITE, UL_WRITE, GET_VERSION = 0x30, 0xA0, 0xA2, 0x60
MF_AUTH_A, MF_AUTH_B = 0x60, 0x61
MF_INCREMENT, MF_DECREMENT, MF_RESTORE, MF_TRANSFER = 0xC1, 0xC0, 0xC2, 0xB0
ACK = 0x0A

BIT_S = 128 / r.CARRIER_HZ
FDT_S = 1236 / r.CARRIER_HZ
# Timer: prescaler 338 gives ticks of ~49.9 us, so every timeout we use fits TReloadRegL alone.
TIMER_PRESCALER = 338
TIMER_TICK_S = (2 * TIMER_PRESCALER + 1) / r.CARRIER_HZ
TIMEOUT_ACTIVATION_S = 0.001  # REQA/WUPA/anticollision/SELECT answer at a fixed frame delay
# REQA/WUPA: the ATQA starts exactly 1236/fc (~91 us) after the request (ISO/IEC 14443-3 FDT) and
# the timer (TAuto) stops at its 5th bit, ~140 us after the request ended; 0.3 ms is twice that.
# Short because an idle poll waits for the whole timer in one go (see `request`).
TIMEOUT_REQUEST_S = 0.0003
TIMEOUT_COMMAND_S = 0.005  # READ, AUTH steps, GET_VERSION
TIMEOUT_WRITE_S = 0.010  # ACK after EEPROM programming
MARGIN_S = 0.00005
MAX_IRQ_CHECKS = 6
RX_GAIN_DEFAULT = 0x04  # RFCfgReg RxGain 33 dB (chip default); 0x07 = 48 dB for weak antennas
RF_CFG_RX_GAIN_MASK = 0x70
MODE_CONFIG = 0x3D  # ModeReg: CRC preset 0x6363 for CalcCRC users; TxWaitRF
MODE_DEFINED_BITS = 0xAB  # MSBFirst, TxWaitRF, PolMFin, CRCPreset; bits 6, 4 and 2 are reserved
# Power-up and reset: the chip reads 0x00 until its oscillator runs. Public drivers wait 50 ms
# after the reset pin rises and after a SoftReset (miguelbalboa/rfid PCD_Init and PCD_Reset).
RESET_SETTLE_S = 0.05
RESET_CHECKS = 3
SELF_TEST_BUFFER = 25  # the internal buffer the Mem command fills
SELF_TEST_STEP_S = 0.001
SELF_TEST_CHECKS = 100
CONFIG_REGISTER_NAMES = {
    r.T_MODE: "TModeReg",
    r.T_PRESCALER: "TPrescalerReg",
    r.T_RELOAD_H: "TReloadRegH",
    r.T_RELOAD_L: "TReloadRegL",
    r.TX_ASK: "TxASKReg",
    r.MODE: "ModeReg",
    r.RF_CFG: "RFCfgReg",
    r.TX_CONTROL: "TxControlReg",
    r.COM_IEN: "ComIEnReg",
    r.DIV_IEN: "DivIEnReg",
}
KEY_TYPES = {"A": MF_AUTH_A, "B": MF_AUTH_B}
COM_IEN_IRQ_INV = 0x80  # ComIEnReg IRqInv: pin IRQ low while an enabled interrupt is pending
DIV_IEN_IRQ_PUSH_PULL = 0x80  # DivIEnReg IRQPushPull: CMOS output instead of open drain
# The interrupts that end the driver's waits: an answer, an error, the timer, a command done.
# (HiAlert/LoAlert stay off: LoAlert is set whenever the FIFO is nearly empty.)
IRQ_WAKES = r.IRQ_RX | r.IRQ_ERR | r.IRQ_TIMER | r.IRQ_IDLE


def air_time_s(nbits: int) -> float:
    full, rest = divmod(nbits, 8)
    if nbits == 7:
        return 9 * BIT_S
    return (2 + 9 * full + (rest + 1 if rest else 0)) * BIT_S


@dataclass(frozen=True)
class CardInfo:
    """What activation learnt: UID (4 or 7 bytes), ATQA and final SAK."""

    uid: bytes
    atqa: bytes
    sak: int


class Mfrc522:
    """Protocol driver for one MFRC522 behind `transport`."""

    def __init__(self, transport: RegisterTransport, *, rx_gain: int = RX_GAIN_DEFAULT) -> None:
        if not 0 <= rx_gain <= 7:
            raise ValueError("rx_gain is RFCfgReg's 3-bit RxGain field, 0..7")
        self.transport = transport
        self.rx_gain = rx_gain
        self.version: int | None = None
        self._timer_reload: int | None = None
        self._crypto_on = False
        self._waits: dict[tuple[int, int, int, float, int | None, bool], tuple[float, float]] = {}

    # --- chip set-up -----------------------------------------------------------------------------
    def init(self) -> int:
        """Soft reset and configure the chip; returns VersionReg. Raises BusFault for a dead bus.

        Any VersionReg but 0x00/0xFF is accepted: clones name themselves with other values
        (drivers/chips.py), and one the table does not know is logged as a warning.
        """
        version = self.wait_awake()
        if version in NO_CHIP:
            raise BusFault(f"no MFRC522 answering on the bus (VersionReg={version:#04x})")
        self.soft_reset()
        t = self.transport
        t.write(r.T_MODE, r.T_MODE_TAUTO | (TIMER_PRESCALER >> 8))
        t.write(r.T_PRESCALER, TIMER_PRESCALER & 0xFF)
        t.write(r.T_RELOAD_H, 0)
        self._timer_reload = None
        t.write(r.TX_ASK, r.TX_ASK_FORCE_100ASK)
        t.write(r.MODE, MODE_CONFIG)
        # RxGain is bits 6-4; bit 7 and bits 3-0 are reserved (reset 0x48) and must keep their value.
        t.write(r.RF_CFG, (t.read(r.RF_CFG) & ~RF_CFG_RX_GAIN_MASK) | (self.rx_gain << 4))
        t.write(r.TX_CONTROL, 0x80 | r.TX_CONTROL_ANTENNA)  # antenna on
        # Pin IRQ only ever falls for interrupts enabled in ComIEnReg: enable those every wait here
        # ends on, active low (IRqInv), and drive the pin both ways (IRQPushPull) so it needs no
        # pull-up. Harmless without an IRQ pin; with one, a transport's wait() ends on its edge.
        t.write(r.COM_IEN, COM_IEN_IRQ_INV | IRQ_WAKES)
        t.write(r.DIV_IEN, DIV_IEN_IRQ_PUSH_PULL)
        self._crypto_on = False
        version = self.read_version()
        if version in NO_CHIP:  # it answered a moment ago: the chip browned out or the bus broke
            raise BusFault(f"MFRC522 stopped answering during set-up (VersionReg={version:#04x})")
        self.version = version
        chip = describe(version)
        if not is_known(version):
            _LOG.warning("MFRC522 ready: %s; %s", chip.name, chip.caveat)
        elif chip.caveat:
            _LOG.warning("MFRC522 ready: %s (VersionReg %#04x); %s", chip.name, version, chip.caveat)
        else:
            _LOG.info("MFRC522 ready: %s (VersionReg %#04x)", chip.name, version)
        return version

    @property
    def chip(self) -> str | None:
        """The chip's name from the version table (drivers/chips.py), once `init` has read it."""
        return None if self.version is None else describe(self.version).name

    def read_version(self) -> int:
        return self.transport.read(r.VERSION)

    def wait_awake(self) -> int:
        """VersionReg, read again after RESET_SETTLE_S while it reads 0x00/0xFF (at most
        RESET_CHECKS times): a chip whose reset pin has just risen reads 0x00 everywhere until
        its oscillator runs (raspberrypi/linux#1547), and a real bus fault must not wait forever."""
        version = self.read_version()
        for _ in range(RESET_CHECKS):
            if version not in NO_CHIP:
                break
            self.transport.wait(RESET_SETTLE_S)
            version = self.read_version()
        return version

    def probe_version(self) -> int:
        """Soft reset, wait as `init` does, and return VersionReg, without configuring anything.

        What `kiosk doctor` reads: the same reset and waits as the running driver, so a healthy
        board that was just powered or reset is never reported as silent.
        """
        version = self.wait_awake()
        if version in NO_CHIP:
            return version
        self.soft_reset()
        return self.wait_awake()

    def soft_reset(self) -> None:
        """SoftReset, then wait for the chip before the next access.

        The datasheet gives no duration; PowerDown stays set until the oscillator runs again
        (8.8.2: the crystal's start-up plus 37.74 us), which on some modules takes milliseconds.
        Public drivers wait 50 ms and then check PowerDown up to three times (miguelbalboa/rfid
        PCD_Reset); so do we. Only start-up and recovery pay for it.
        """
        t = self.transport
        t.write(r.COMMAND, r.CMD_SOFT_RESET)
        after_reset = getattr(t, "after_reset", None)
        if after_reset is not None:  # e.g. UART: the reset also resets the serial speed
            after_reset()
        for _ in range(RESET_CHECKS):
            t.wait(RESET_SETTLE_S)
            if not t.read(r.COMMAND) & r.COMMAND_POWER_DOWN:
                self._timer_reload = None
                self._crypto_on = False
                return
        raise BusFault("MFRC522 did not come out of soft reset")

    def hard_reset(self) -> int:
        """Pulse the reset pin (if wired), give the chip RESET_SETTLE_S to wake, re-initialise."""
        self.transport.hard_reset()
        self.transport.wait(RESET_SETTLE_S)
        return self.init()

    # --- health: configuration read-back and the digital self-test ---------------------------------
    def expected_config(self) -> dict[int, tuple[int, int]]:
        """Register -> (mask, value) that `init` leaves and every exchange relies on.

        Boards that "stop reading after hours" have often lost one of these to a brown-out or EMI
        while VersionReg still reads right; the reader service reads them back (`config_drift`).
        Masks cover the bits we set, not reserved ones. TReloadRegL is the driver's current timeout.
        """
        expected = {
            r.T_MODE: (0xFF, r.T_MODE_TAUTO | (TIMER_PRESCALER >> 8)),
            r.T_PRESCALER: (0xFF, TIMER_PRESCALER & 0xFF),
            r.T_RELOAD_H: (0xFF, 0x00),
            r.TX_ASK: (r.TX_ASK_FORCE_100ASK, r.TX_ASK_FORCE_100ASK),
            r.MODE: (MODE_DEFINED_BITS, MODE_CONFIG & MODE_DEFINED_BITS),
            r.RF_CFG: (RF_CFG_RX_GAIN_MASK, self.rx_gain << 4),
            r.TX_CONTROL: (r.TX_CONTROL_ANTENNA, r.TX_CONTROL_ANTENNA),
            # A lost IRQ set-up turns every edge wait into its full timeout: slow, never wrong.
            r.COM_IEN: (0xFF, COM_IEN_IRQ_INV | IRQ_WAKES),
            r.DIV_IEN: (DIV_IEN_IRQ_PUSH_PULL, DIV_IEN_IRQ_PUSH_PULL),
        }
        if self._timer_reload is not None:
            expected[r.T_RELOAD_L] = (0xFF, self._timer_reload)
        return expected

    def config_drift(self) -> list[str]:
        """Configuration registers that no longer hold what `init` wrote, e.g. "TModeReg=0x00
        (expected 0x81)"; empty when all is well. One register read each."""
        drift = []
        for reg, (mask, want) in self.expected_config().items():
            got = self.transport.read(reg)
            if got & mask != want:
                drift.append(f"{CONFIG_REGISTER_NAMES[reg]}={got:#04x} (expected {want:#04x} in bits {mask:#04x})")
        return drift

    def self_test(self) -> SelfTestResult:
        """The datasheet's digital self-test (16.1.1), judged against the chip's reference.

        Never run at start: clones that read cards fine fail it or have no reference. The test
        leaves the chip unusable for cards, so it always ends with `init` (which also clears
        AutoTestReg); a dead bus raises BusFault like `init`.
        """
        t = self.transport
        self.soft_reset()
        try:
            t.write(r.FIFO_LEVEL, r.FIFO_FLUSH)
            t.write_fifo(bytes(SELF_TEST_BUFFER))  # 25 zero bytes into the internal buffer (Mem)
            t.write(r.COMMAND, r.CMD_MEM)
            t.write(r.AUTO_TEST, r.AUTO_TEST_SELF_TEST)
            t.write_fifo(b"\x00")
            t.write(r.COMMAND, r.CMD_CALC_CRC)
            level = 0
            # The datasheet gives no duration and CRCIRq is unreliable during the test on some
            # chips (miguelbalboa/rfid PCD_PerformSelfTest): wait for the FIFO to fill, bounded.
            for _ in range(SELF_TEST_CHECKS):
                t.wait(SELF_TEST_STEP_S)
                level = t.read(r.FIFO_LEVEL)
                if level >= SELF_TEST_LENGTH:
                    break
            t.write(r.COMMAND, r.CMD_IDLE)
            result = t.read_fifo(min(level, SELF_TEST_LENGTH))
            version = self.read_version()
        finally:
            # Public drivers report the chip unusable after the test even after a reset, so the
            # self-test mode is switched off explicitly before the full re-initialisation.
            t.write(r.AUTO_TEST, r.AUTO_TEST_RESET)
            self.init()
        judged = judge_self_test(version, result)
        _LOG.info("MFRC522 digital self-test: %s (%s)", judged.verdict, judged.chip)
        return judged

    # --- low level exchange -------------------------------------------------------------------------
    def _set_timeout(self, seconds: float) -> int:
        """Set the chip's timer to about `seconds`; returns the reload value it now holds."""
        reload = max(1, min(255, round(seconds / TIMER_TICK_S)))
        if reload != self._timer_reload:
            self.transport.write(r.T_RELOAD_L, reload)
            self._timer_reload = reload
        return reload

    def _start_clean(self) -> None:
        """Stop whatever the chip is doing and empty the FIFO before loading the next frame.

        A Transceive never ends by itself: after a timeout its receiver is still listening, so a
        late answer or RF noise can land in the FIFO in the gap before the next exchange, and a
        FIFO write while it listens is a WrErr. Idle stops the receiver first, so nothing lands
        between the flush and the new frame; every public MFRC522 driver does the same.
        """
        t = self.transport
        t.write(r.COMMAND, r.CMD_IDLE)
        t.write(r.COM_IRQ, r.IRQ_ALL)  # Set1=0: clear every IRQ bit
        t.write(r.FIFO_LEVEL, r.FIFO_FLUSH)

    def _clear_crypto(self) -> None:
        if self._crypto_on:
            self.transport.write(r.STATUS2, 0x00)
            self._crypto_on = False

    def _wait_irq(self, first_wait_s: float, budget_s: float, done_mask: int) -> int:
        """Wait for any of `done_mask` in ComIrqReg, checking it a bounded number of times."""
        t = self.transport
        t.wait(first_wait_s)
        waited = first_wait_s
        for _ in range(MAX_IRQ_CHECKS):
            irq = t.read(r.COM_IRQ)
            if irq & done_mask:
                return irq
            if waited >= budget_s:
                break
            step = max(budget_s - waited, MARGIN_S)
            t.wait(step)
            waited += step
        raise BusFault("MFRC522 command did not finish and its timer never fired (chip hung?)")

    def transceive(
        self,
        data: bytes,
        *,
        last_bits: int = 0,
        timeout_s: float = TIMEOUT_COMMAND_S,
        answer_bits: int = 0,
        extra_s: float = 0.0,
    ) -> tuple[bytes, int]:
        """Send one frame, return (answer bytes, valid bits in the last byte; 0 = all 8).

        `answer_bits` is the expected answer length, used only to time the first ComIrqReg check.
        Raises CardTimeout for silence, CollisionError, FrameError for parity/protocol/overflow.
        """
        irq = self._exchange(data, last_bits, timeout_s, answer_bits, extra_s)
        if not irq & (r.IRQ_RX | r.IRQ_ERR):
            raise CardTimeout("no answer from card")
        return self._answer(irq, answer_bits)

    def _exchange(
        self,
        data: bytes,
        last_bits: int,
        timeout_s: float,
        answer_bits: int,
        extra_s: float,
        *,
        one_check: bool = False,
    ) -> int:
        """Run one Transceive until the card answered or the timer fired; returns ComIrqReg.

        ComIrqReg is checked first when the answer should be complete, then when the timer must
        have fired; `one_check` skips the first check (one wait instead of two when silence is
        the likely outcome).
        """
        t = self.transport
        reload = self._set_timeout(timeout_s)
        self._start_clean()
        t.write_fifo(data)
        t.write(r.COMMAND, r.CMD_TRANSCEIVE)
        t.write(r.BIT_FRAMING, r.BIT_FRAMING_START_SEND | last_bits)
        key = (len(data), last_bits, answer_bits, extra_s, reload, one_check)
        waits = self._waits.get(key)
        if waits is None:  # the same few exchanges repeat: compute their waits once
            tx_s = air_time_s((len(data) - 1) * 8 + (last_bits or 8))
            expected = tx_s + FDT_S + extra_s + (air_time_s(answer_bits) if answer_bits else 0)
            budget = tx_s + reload * TIMER_TICK_S + 4 * MARGIN_S
            first = budget if one_check else min(expected, budget) + MARGIN_S
            waits = self._waits[key] = (first, budget)
        return self._wait_irq(waits[0], waits[1], r.IRQ_RX | r.IRQ_ERR | r.IRQ_TIMER)

    def _answer(self, irq: int, answer_bits: int) -> tuple[bytes, int]:
        """The card's answer after an exchange that ended with RxIRq or ErrIRq."""
        t = self.transport
        if irq & r.IRQ_ERR:
            error = t.read(r.ERROR)
            if error & r.ERR_COLL:
                raise CollisionError("more than one card answered")
            if error & (r.ERR_PARITY | r.ERR_PROTOCOL | r.ERR_BUFFER_OVFL | r.ERR_CRC):
                raise FrameError(f"damaged frame from card (ErrorReg={error:#04x})")
        if not irq & r.IRQ_RX:
            raise CardTimeout("no answer from card")
        level = t.read(r.FIFO_LEVEL)
        if level == 0:
            raise FrameError("card answer was empty")
        valid_bits = t.read(r.CONTROL) & 0x07 if level <= 1 or answer_bits % 8 else 0
        return t.read_fifo(level), valid_bits

    def transmit(self, data: bytes) -> None:
        """Send a frame that gets no answer (HLTA), waiting only for it to leave the antenna."""
        t = self.transport
        self._start_clean()
        t.write_fifo(data)
        t.write(r.BIT_FRAMING, 0)
        t.write(r.COMMAND, r.CMD_TRANSMIT)
        tx_s = air_time_s(len(data) * 8)
        self._wait_irq(tx_s + MARGIN_S, tx_s + 10 * MARGIN_S, r.IRQ_IDLE | r.IRQ_TX)

    def _command(
        self, frame: bytes, *, answer_bytes: int, timeout_s: float = TIMEOUT_COMMAND_S, extra_s: float = 0.0
    ) -> bytes:
        """A CRC-protected command whose answer is `answer_bytes`+CRC, or a 4-bit NAK."""
        data, bits = self.transceive(
            with_crc(frame), timeout_s=timeout_s, answer_bits=(answer_bytes + 2) * 8, extra_s=extra_s
        )
        if len(data) == 1 and bits == 4:
            raise NakError(f"card refused command {frame[0]:#04x} (NAK {data[0] & 0x0F:#x})", data[0] & 0x0F)
        if len(data) != answer_bytes + 2 or bits not in (0, 8) or not check_crc(data):
            raise FrameError(f"bad answer to command {frame[0]:#04x}: {data.hex()}")
        return data[:-2]

    def _expect_ack(self, frame: bytes, *, timeout_s: float, extra_s: float = 0.0) -> None:
        data, bits = self.transceive(with_crc(frame), timeout_s=timeout_s, answer_bits=4, extra_s=extra_s)
        if len(data) != 1 or bits != 4:
            raise FrameError(f"expected a 4-bit ACK, got {data.hex()} ({bits} bits)")
        if data[0] & 0x0F != ACK:
            code = data[0] & 0x0F
            if code in (0x0, 0x1, 0x4, 0x5):
                raise NakError(f"card answered NAK {code:#x}", code)
            raise FrameError(f"damaged ACK/NAK nibble {code:#x}")

    # --- ISO 14443-3 activation -------------------------------------------------------------------
    def request(self, wake: bool = False) -> bytes | None:
        """REQA (or WUPA, which also wakes halted cards). Returns ATQA, or None if no card.

        This is every idle poll, dozens of times a second, so it is kept to seven register
        accesses and one wait: Idle, IRQ clear, flush, the frame, Transceive, StartSend and one
        ComIrqReg read. The short timer is waited for in one go (an answer is read at most ~0.2 ms
        later than it could be) and silence returns without raising.
        """
        self._clear_crypto()
        irq = self._exchange(WUPA_FRAME if wake else REQA_FRAME, 7, TIMEOUT_REQUEST_S, 16, 0.0, one_check=True)
        if not irq & (r.IRQ_RX | r.IRQ_ERR):
            return None
        try:
            data, _ = self._answer(irq, 16)
        except CardTimeout:
            return None
        except CollisionError:
            return b"\x00\x00"  # differing ATQAs: cards are there, anticollision sorts them out
        if len(data) != 2:
            raise FrameError(f"ATQA must be 2 bytes, got {data.hex()}")
        return data

    def _anticollision(self, level: int) -> bytes:
        data, bits = self.transceive(bytes((SEL[level], 0x20)), timeout_s=TIMEOUT_ACTIVATION_S, answer_bits=40)
        if len(data) != 5 or bits not in (0, 8):
            raise FrameError(f"anticollision answer must be 5 bytes, got {data.hex()}")
        if data[0] ^ data[1] ^ data[2] ^ data[3] != data[4]:
            raise FrameError("UID check byte (BCC) mismatch")
        return data

    def _select(self, level: int, cln: bytes) -> int:
        data, _ = self.transceive(
            with_crc(bytes((SEL[level], 0x70)) + cln), timeout_s=TIMEOUT_ACTIVATION_S, answer_bits=24
        )
        if len(data) != 3 or not check_crc(data):
            raise FrameError(f"bad SAK frame {data.hex()}")
        return data[0]

    def activate(self, wake: bool = True) -> CardInfo | None:
        """Wake/request a card and run anticollision + SELECT through the cascade levels."""
        atqa = self.request(wake=wake)
        if atqa is None:
            return None
        uid = b""
        try:
            for level in range(3):
                cln = self._anticollision(level)
                sak = self._select(level, cln)
                if sak & 0x04:  # cascade bit: UID continues at the next level
                    if cln[0] != 0x88:
                        raise FrameError("cascade bit set but no cascade tag in UID")
                    uid += cln[1:4]
                    continue
                uid += cln[:4]
                return CardInfo(uid, atqa, sak)
            raise FrameError("UID longer than three cascade levels")
        except (CollisionError, FrameError, CardTimeout):
            self.park()
            raise

    def reselect(self, uid: bytes) -> CardInfo:
        """Wake and SELECT a known card directly (no anticollision). CardTimeout if it is gone."""
        # A card left ACTIVE or READY by an interrupted exchange treats the first WUPA as an
        # unexpected frame and drops to IDLE/HALT silently; the second one wakes it.
        atqa = self.request(wake=True) or self.request(wake=True)
        if atqa is None:
            raise CardTimeout(f"card {uid.hex()} is not in the field")
        levels = cascade_levels(uid)
        sak = 0
        try:
            for level, cln in enumerate(levels):
                sak = self._select(level, cln)
        except CardTimeout:
            self.park()
            raise CardTimeout(f"card {uid.hex()} is not in the field") from None
        return CardInfo(uid, atqa, sak)

    def park(self) -> None:
        """Send HLTA so cards left in READY go back to sleep and answer the next WUPA."""
        try:
            self.transmit(with_crc(HLTA))
        finally:
            self._clear_crypto()

    def halt(self) -> None:
        """HLTA (ciphered if authenticated, as the card expects), then Crypto1 off."""
        self.park()

    def probe(self, uid: bytes) -> bool:
        """Is this card still in the field? Leaves it halted either way."""
        try:
            self.reselect(uid)
        except (CardTimeout, FrameError, CollisionError):
            return False
        self.park()
        return True

    # --- MIFARE Classic ------------------------------------------------------------------------------
    def authenticate(self, uid: bytes, block: int, key: bytes, key_type: str = "A") -> None:
        if key_type not in KEY_TYPES:
            raise ValueError("key_type must be 'A' or 'B'")
        if len(key) != 6:
            raise ValueError("a MIFARE key is 6 bytes")
        t = self.transport
        reload = self._set_timeout(TIMEOUT_COMMAND_S)
        self._start_clean()
        # 7-byte UID cards authenticate with the last four UID bytes (NXP AN10927).
        t.write_fifo(bytes((KEY_TYPES[key_type], block)) + bytes(key) + bytes(uid[-4:]))
        t.write(r.COMMAND, r.CMD_MF_AUTHENT)
        expected = air_time_s(32) * 3 + air_time_s(64) + 4 * FDT_S + 0.0004
        budget = expected + reload * TIMER_TICK_S + 4 * MARGIN_S
        irq = self._wait_irq(expected + MARGIN_S, budget, r.IRQ_IDLE | r.IRQ_TIMER | r.IRQ_ERR)
        if irq & r.IRQ_IDLE and not irq & r.IRQ_ERR and t.read(r.STATUS2) & r.STATUS2_CRYPTO1_ON:
            self._crypto_on = True
            return
        t.write(r.COMMAND, r.CMD_IDLE)
        self._crypto_on = True  # force clearing: a failed nested auth leaves the old session on
        self._clear_crypto()
        raise AuthError(f"authentication with key {key_type} for block {block} failed")

    def mifare_read(self, block: int) -> bytes:
        return self._command(bytes((MF_READ, block)), answer_bytes=16)

    def mifare_write(self, block: int, data: bytes) -> None:
        if len(data) != 16:
            raise ValueError("a MIFARE Classic block is 16 bytes")
        self._expect_ack(bytes((MF_WRITE, block)), timeout_s=TIMEOUT_COMMAND_S)
        self._expect_ack(bytes(data), timeout_s=TIMEOUT_WRITE_S, extra_s=0.004)

    def mifare_value(self, command: int, block: int, operand: int) -> None:
        """Increment/decrement/restore into the card's transfer buffer (part 2 has no answer)."""
        self._expect_ack(bytes((command, block)), timeout_s=TIMEOUT_COMMAND_S)
        try:
            data, bits = self.transceive(
                with_crc(operand.to_bytes(4, "little", signed=True)), timeout_s=TIMEOUT_ACTIVATION_S, answer_bits=4
            )
        except CardTimeout:
            return  # silence is success for the second part
        code = data[0] & 0x0F if data else None
        raise NakError(f"card refused value operation on block {block} (NAK {code})", code)

    def mifare_transfer(self, block: int) -> None:
        self._expect_ack(bytes((MF_TRANSFER, block)), timeout_s=TIMEOUT_WRITE_S, extra_s=0.004)

    # --- Ultralight / NTAG -----------------------------------------------------------------------------
    def get_version(self) -> bytes | None:
        """NTAG/Ultralight EV1 GET_VERSION, or None if the card stays silent (then it is IDLE)."""
        try:
            return self._command(bytes((GET_VERSION,)), answer_bytes=8)
        except (CardTimeout, NakError):
            return None

    def ultralight_write(self, page: int, data: bytes) -> None:
        if len(data) != 4:
            raise ValueError("a page is 4 bytes")
        self._expect_ack(bytes((UL_WRITE, page)) + bytes(data), timeout_s=TIMEOUT_WRITE_S, extra_s=0.004)


def cascade_levels(uid: bytes) -> list[bytes]:
    """The 5-byte CLn sent in SELECT for each cascade level of `uid`."""

    def with_bcc(part: bytes) -> bytes:
        return part + bytes((part[0] ^ part[1] ^ part[2] ^ part[3],))

    if len(uid) == 4:
        return [with_bcc(uid)]
    if len(uid) == 7:
        return [with_bcc(b"\x88" + uid[:3]), with_bcc(uid[3:])]
    raise ValueError(f"UID must be 4 or 7 bytes, got {len(uid)}")
