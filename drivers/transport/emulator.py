"""Transport to the register-level emulator, charged like an SPI bus at the chip's configured clock.

Each register access costs one 2-byte SPI transaction in modelled time and a FIFO burst one
transaction of n+1 bytes, so the emulator's clock says what the same traffic costs on a Pi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.transport.base import TransportStats

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator

FIFO_DATA = 0x09


class EmulatorTransport:
    """Register accesses go straight to the chip, which range-checks them (ValueError) like every
    transport does; the counting is inline because an idle poll is made of these calls."""

    def __init__(self, chip: MFRC522Emulator) -> None:
        self.chip = chip
        self.stats = TransportStats()

    def read(self, reg: int) -> int:
        self.chip.charge_spi(2)
        stats = self.stats
        stats.register_reads += 1
        stats.transactions += 1
        stats.bytes_moved += 2
        return self.chip.read_register(reg)

    def write(self, reg: int, value: int) -> None:
        self.chip.charge_spi(2)
        stats = self.stats
        stats.register_writes += 1
        stats.transactions += 1
        stats.bytes_moved += 2
        self.chip.write_register(reg, value)

    def read_fifo(self, count: int) -> bytes:
        if count <= 0:
            return b""
        self.chip.charge_spi(count + 1)
        self._count(reads=count, nbytes=count + 1)
        return bytes(self.chip.read_register(FIFO_DATA) for _ in range(count))

    def write_fifo(self, data: bytes) -> None:
        if not data:
            return
        self.chip.charge_spi(len(data) + 1)
        self._count(writes=len(data), nbytes=len(data) + 1)
        for value in data:
            self.chip.write_register(FIFO_DATA, value)

    def wait(self, seconds: float) -> None:
        self.chip.advance(seconds)

    def hard_reset(self) -> None:
        self.chip.hard_reset()

    def close(self) -> None:
        pass

    def _count(self, reads: int = 0, writes: int = 0, nbytes: int = 0) -> None:
        self.stats.register_reads += reads
        self.stats.register_writes += writes
        self.stats.transactions += 1
        self.stats.bytes_moved += nbytes
