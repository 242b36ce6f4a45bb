"""Emulated MIFARE Classic 1K (MF1S50): 16 sectors of 4 blocks, keys and access bits enforced.

Crypto1 is not modelled: the real MFRC522 does it on the RF side and the host only ever sees
plaintext. What matters for the host is modelled: which key opens which sector, what each key may
read, write, increment or decrement, ACK/NAK answers, value-block format, the transfer buffer, and
the card dropping back to IDLE after any refusal.
"""

from __future__ import annotations

import enum
import os

from drivers.crc import check_crc, with_crc
from drivers.emulator.cards import access
from drivers.emulator.cards.iso14443 import CardState, Iso14443Card, bcc
from drivers.emulator.rf import ACK, NAK_INVALID, NAK_TRANSMISSION, Frame, Reply

READ, WRITE, INCREMENT, DECREMENT, RESTORE, TRANSFER = 0x30, 0xA0, 0xC1, 0xC0, 0xC2, 0xB0
AUTH_A, AUTH_B = 0x60, 0x61
DEFAULT_KEY = b"\xff" * 6
BLOCKS = 64
INT32 = (-(2**31), 2**31 - 1)


class AuthOutcome(enum.Enum):
    NO_ANSWER = "no answer"  # card absent, not ACTIVE, or not a Classic card
    REJECTED = "rejected"  # nonce sent, reader's answer (wrong key) refused
    OK = "ok"


def parse_value(block: bytes | bytearray) -> tuple[int, int] | None:
    """(value, address byte) of a well-formed value block, else None."""
    if block[0:4] != block[8:12] or any(block[i] ^ block[i + 4] != 0xFF for i in range(4)):
        return None
    if block[12] != block[14] or block[13] != block[15] or block[12] ^ block[13] != 0xFF:
        return None
    return int.from_bytes(block[0:4], "little", signed=True), block[12]


def value_block(value: int, address: int) -> bytes:
    """A value block holding `value` (signed 32-bit) with address byte `address`."""
    raw = value.to_bytes(4, "little", signed=True)
    inverted = bytes(b ^ 0xFF for b in raw)
    return raw + inverted + raw + bytes((address, address ^ 0xFF, address, address ^ 0xFF))


def trailer(key_a: bytes, access_bytes: bytes, key_b: bytes, user_byte: int = 0x69) -> bytes:
    """A sector trailer: key A, access bytes 6..8, user byte 9, key B."""
    if len(key_a) != 6 or len(key_b) != 6 or len(access_bytes) != 3:
        raise ValueError("keys are 6 bytes and access bits 3 bytes")
    return bytes(key_a) + bytes(access_bytes) + bytes((user_byte,)) + bytes(key_b)


class MifareClassic1K(Iso14443Card):
    """A MIFARE Classic 1K, new from the factory (transport configuration).

    A 4-byte UID (NUID) card answers ATQA 0004 and is selected in one cascade level; a 7-byte UID
    card (MF1S50yyX/V1 "7B") answers ATQA 0044 and is selected in two, and authenticates with the
    last four UID bytes (NXP AN10927), which is what the reader must send in MFAuthent.
    """

    ATQA = b"\x04\x00"
    SAK = 0x08
    card_type = "mifare_classic_1k"

    def __init__(self, uid: bytes, *, magic: bool = False) -> None:
        if len(uid) not in (4, 7):
            raise ValueError("a MIFARE Classic 1K has a 4-byte or 7-byte UID")
        super().__init__(uid)
        self.is_magic = magic
        self._blocks = [bytearray(16) for _ in range(BLOCKS)]
        if len(uid) == 4:
            self._blocks[0][:] = (
                self.uid + bytes((bcc(self.uid), self.SAK)) + self.ATQA + bytes.fromhex("6263646566676869")
            )
        else:
            self.ATQA = b"\x44\x00"
            # Block 0 of a 7-byte UID card has no BCC: UID, SAK, ATQA, then manufacturer data.
            self._blocks[0][:] = self.uid + bytes((self.SAK,)) + self.ATQA + bytes.fromhex("626364656667")
        for sector in range(16):
            self._blocks[sector * 4 + 3][:] = trailer(DEFAULT_KEY, access.TRANSPORT_ACCESS, DEFAULT_KEY)
        self._auth: tuple[int, str] | None = None
        self._pending: tuple[int, int] | None = None
        self._transfer: tuple[int, int] | None = None

    @classmethod
    def magic(cls, uid: bytes) -> MifareClassic1K:
        """A "magic" (gen2/CUID) clone whose block 0 is writable with an ordinary WRITE."""
        return cls(uid, magic=True)

    # --- backdoor for tests ---------------------------------------------------------------------
    def block(self, n: int) -> bytes:
        return bytes(self._blocks[self._check_block(n)])

    def set_block(self, n: int, data: bytes) -> None:
        if len(data) != 16:
            raise ValueError("a block is 16 bytes")
        self._blocks[self._check_block(n)][:] = data

    @staticmethod
    def _check_block(n: int) -> int:
        if not 0 <= n < BLOCKS:
            raise ValueError(f"block {n} does not exist on a 1K card")
        return n

    # --- session ---------------------------------------------------------------------------------
    @property
    def authenticated(self) -> bool:
        return self._auth is not None

    def _forget_session(self) -> None:
        self._auth = None
        self._pending = None
        self._transfer = None

    def authenticate(self, command: int, block: int, key: bytes, uid4: bytes, crypto_on: bool) -> AuthOutcome:
        """The three-pass authentication the MFRC522 runs for MFAuthent, reduced to its outcome."""
        if self.state is not CardState.ACTIVE or command not in (AUTH_A, AUTH_B):
            return AuthOutcome.NO_ANSWER
        self.frames_received += 1  # AUTH command
        if crypto_on != self.authenticated or not 0 <= block < BLOCKS:
            self.fall_back()
            return AuthOutcome.NO_ANSWER
        self.frames_received += 1  # reader's {nR, aR}
        sector = block // 4
        stored = self._blocks[sector * 4 + 3]
        key_type = "A" if command == AUTH_A else "B"
        expected = stored[0:6] if key_type == "A" else stored[10:16]
        if bytes(key) != bytes(expected) or bytes(uid4) != self.uid[-4:]:
            self.fall_back()
            return AuthOutcome.REJECTED
        self._auth = (sector, key_type)
        self._pending = None
        return AuthOutcome.OK

    # --- commands ----------------------------------------------------------------------------
    def command(self, frame: Frame) -> Reply | None:
        if self._pending is not None:
            return self._second_part(frame, self._pending)
        data = frame.data
        if frame.nbits != 32 or not check_crc(data):
            return self._nak(NAK_TRANSMISSION)
        cmd, block = data[0], data[1]
        if cmd in (AUTH_A, AUTH_B):
            # Plain AUTH via Transceive: the card sends its nonce, then expects ciphered data we
            # never model, so whatever comes next is garbage to it.
            self._pending = (-1, block)
            return Reply.data(os.urandom(4))
        if self._auth is None or block >= BLOCKS or block // 4 != self._auth[0]:
            return self._nak(NAK_INVALID)
        if cmd == READ:
            if not self._may(block, "read"):
                return self._nak(NAK_INVALID)
            return Reply.data(with_crc(self._read_view(block)))
        if cmd == WRITE:
            if not self._may_write(block):
                return self._nak(NAK_INVALID)
            self._pending = (WRITE, block)
            return Reply.nibble(ACK)
        if cmd in (INCREMENT, DECREMENT, RESTORE):
            op = "increment" if cmd == INCREMENT else "decrement"
            parsed = parse_value(self._blocks[block]) if block % 4 != 3 else None
            if not self._may(block, op) or parsed is None:
                return self._nak(NAK_INVALID)
            self._pending = (cmd, block)
            return Reply.nibble(ACK)
        if cmd == TRANSFER:
            if self._transfer is None or not self._may(block, "decrement"):
                return self._nak(NAK_INVALID)
            value, address = self._transfer
            self._blocks[block][:] = value_block(value, address)
            self._transfer = None
            return Reply.nibble(ACK, self._eeprom_s())
        return self._nak(NAK_INVALID)

    def _second_part(self, frame: Frame, pending: tuple[int, int]) -> Reply | None:
        cmd, block = pending
        self._pending = None
        data = frame.data
        if cmd == -1:
            self.fall_back()
            return None
        if cmd == WRITE:
            if frame.nbits != 18 * 8 or not check_crc(data):
                return self._nak(NAK_TRANSMISSION)
            self._store(block, data[:16])
            return Reply.nibble(ACK, self._eeprom_s())
        if frame.nbits != 6 * 8 or not check_crc(data):
            return self._nak(NAK_TRANSMISSION)
        parsed = parse_value(self._blocks[block])
        # Part 1 accepted the command only for a well-formed value block, and no frame came between.
        assert parsed is not None
        value, address = parsed
        operand = int.from_bytes(data[:4], "little", signed=True)
        if cmd == INCREMENT:
            value += operand
        elif cmd == DECREMENT:
            value -= operand
        if not INT32[0] <= value <= INT32[1]:
            return self._nak(NAK_INVALID)
        self._transfer = (value, address)
        return None  # the datasheet's part 2 of increment/decrement/restore is never answered

    def _nak(self, code: int) -> Reply:
        self.fall_back()
        return Reply.nibble(code)

    def _eeprom_s(self) -> float:
        return self.timing_eeprom_s

    timing_eeprom_s = 0.0045  # set by the field from its timing model

    # --- access rights --------------------------------------------------------------------------
    def _conditions(self, sector: int) -> access.Conditions | None:
        return access.decode(bytes(self._blocks[sector * 4 + 3][6:9]))

    def _key_usable(self) -> tuple[int, str, access.Conditions] | None:
        if self._auth is None:
            return None  # not authenticated: no key at all
        sector, key_type = self._auth
        conditions = self._conditions(sector)
        if conditions is None:
            return None  # inconsistent access bits block the whole sector
        if key_type == "B" and access.key_b_readable(conditions[3]):
            return None
        return sector, key_type, conditions

    def _may(self, block: int, op: str) -> bool:
        usable = self._key_usable()
        if usable is None:
            return False
        _, key_type, conditions = usable
        if block % 4 == 3:
            return op == "read" and key_type in access.TRAILER_RULES[conditions[3]].access_read
        return key_type in getattr(access.DATA_RULES[conditions[block % 4]], op)

    def _may_write(self, block: int) -> bool:
        if block == 0 and not self.is_magic:
            return False  # manufacturer block
        usable = self._key_usable()
        if usable is None:
            return False
        _, key_type, conditions = usable
        if block % 4 != 3:
            return key_type in access.DATA_RULES[conditions[block % 4]].write
        rule = access.TRAILER_RULES[conditions[3]]
        return any(key_type in part for part in (rule.key_a_write, rule.access_write, rule.key_b_write))

    def _read_view(self, block: int) -> bytes:
        data = bytearray(self._blocks[block])
        if block % 4 == 3:
            usable = self._key_usable()
            assert usable is not None  # only called once _may() has granted the read
            _, key_type, conditions = usable
            data[0:6] = bytes(6)  # key A is never readable
            if key_type not in access.TRAILER_RULES[conditions[3]].key_b_read:
                data[10:16] = bytes(6)
        return bytes(data)

    def _store(self, block: int, data: bytes) -> None:
        if block % 4 != 3:
            self._blocks[block][:] = data
            return
        # A trailer write changes only the parts the authenticated key may write.
        usable = self._key_usable()
        assert usable is not None  # only called once _may_write() has granted the write
        _, key_type, conditions = usable
        rule = access.TRAILER_RULES[conditions[3]]
        stored = self._blocks[block]
        if key_type in rule.key_a_write:
            stored[0:6] = data[0:6]
        if key_type in rule.access_write:
            stored[6:10] = data[6:10]
        if key_type in rule.key_b_write:
            stored[10:16] = data[10:16]
