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
KEY_TYPES = {"A": MF_AUTH_A, "B": MF_AUTH_B}


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
        # True only right after a request that nobody answered: the FIFO is then known to be empty
        # (the request left it on the air, nothing came back), so the next exchange skips the flush.
        self._fifo_empty = False

    # --- chip set-up -----------------------------------------------------------------------------
    def init(self) -> int:
        """Soft reset and configure the chip; returns VersionReg. Raises BusFault for a dead bus."""
        version = self.read_version()
        if version in (0x00, 0xFF):
            raise BusFault(f"no MFRC522 answering on the bus (VersionReg={version:#04x})")
        self.soft_reset()
        t = self.transport
        t.write(r.T_MODE, r.T_MODE_TAUTO | (TIMER_PRESCALER >> 8))
        t.write(r.T_PRESCALER, TIMER_PRESCALER & 0xFF)
        t.write(r.T_RELOAD_H, 0)
        self._timer_reload = None
        t.write(r.TX_ASK, r.TX_ASK_FORCE_100ASK)
        t.write(r.MODE, 0x3D)  # CRC preset 0x6363 for CalcCRC users; TxWaitRF
        t.write(r.RF_CFG, self.rx_gain << 4)
        t.write(r.TX_CONTROL, 0x80 | r.TX_CONTROL_ANTENNA)  # antenna on
        self._crypto_on = False
        self.version = self.read_version()
        if self.version not in r.KNOWN_VERSIONS:
            raise BusFault(f"unexpected VersionReg {self.version:#04x} after reset")
        if self.version == r.VERSION_COUNTERFEIT:
            _LOG.warning("VersionReg 0x12: counterfeit MFRC522; it usually works, RF range may suffer")
        _LOG.info("MFRC522 ready: %s", r.KNOWN_VERSIONS[self.version])
        return self.version

    def read_version(self) -> int:
        return self.transport.read(r.VERSION)

    def soft_reset(self) -> None:
        t = self.transport
        t.write(r.COMMAND, r.CMD_SOFT_RESET)
        after_reset = getattr(t, "after_reset", None)
        if after_reset is not None:  # e.g. UART: the reset also resets the serial speed
            after_reset()
        for _ in range(MAX_IRQ_CHECKS):
            t.wait(0.0001)
            if not t.read(r.COMMAND) & r.COMMAND_POWER_DOWN:
                self._timer_reload = None
                self._crypto_on = False
                self._fifo_empty = False
                return
        raise BusFault("MFRC522 did not come out of soft reset")

    def hard_reset(self) -> int:
        """Pulse the reset pin (if wired) and re-initialise."""
        self.transport.hard_reset()
        return self.init()

    # --- low level exchange -------------------------------------------------------------------------
    def _set_timeout(self, seconds: float) -> int:
        """Set the chip's timer to about `seconds`; returns the reload value it now holds."""
        reload = max(1, min(255, round(seconds / TIMER_TICK_S)))
        if reload != self._timer_reload:
            self.transport.write(r.T_RELOAD_L, reload)
            self._timer_reload = reload
        return reload

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
        t.write(r.COM_IRQ, r.IRQ_ALL)  # Set1=0: clear every IRQ bit
        if self._fifo_empty:
            self._fifo_empty = False
        else:
            t.write(r.FIFO_LEVEL, r.FIFO_FLUSH)
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
        self._fifo_empty = False
        t.write(r.COM_IRQ, r.IRQ_ALL)
        t.write(r.FIFO_LEVEL, r.FIFO_FLUSH)
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

        This is every idle poll, dozens of times a second, so it is kept to five register
        accesses and one wait: the short timer is waited for in one go (an answer is read at most
        ~0.2 ms later than it could be), silence returns without raising, and the FIFO it leaves
        empty is not flushed again by the next request.
        """
        self._clear_crypto()
        irq = self._exchange(WUPA_FRAME if wake else REQA_FRAME, 7, TIMEOUT_REQUEST_S, 16, 0.0, one_check=True)
        if not irq & (r.IRQ_RX | r.IRQ_ERR):
            self._fifo_empty = True
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
        self._fifo_empty = False
        reload = self._set_timeout(TIMEOUT_COMMAND_S)
        t.write(r.COM_IRQ, r.IRQ_ALL)
        t.write(r.FIFO_LEVEL, r.FIFO_FLUSH)
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
