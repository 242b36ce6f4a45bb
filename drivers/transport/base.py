"""The register transport seam: everything the protocol driver needs from a bus, and its counters.

A transport moves register values; it knows nothing about cards. `wait()` is part of the seam
because only the transport knows what "let the chip work for a while" means: a real bus sleeps (or
waits for the IRQ pin), the emulator advances its modelled clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass
class TransportStats:
    """Traffic counters. A FIFO burst of n bytes counts as n register accesses in one transaction."""

    register_reads: int = 0
    register_writes: int = 0
    transactions: int = 0
    bytes_moved: int = 0

    @property
    def register_accesses(self) -> int:
        return self.register_reads + self.register_writes

    def snapshot(self) -> TransportStats:
        return TransportStats(self.register_reads, self.register_writes, self.transactions, self.bytes_moved)

    def since(self, earlier: TransportStats) -> TransportStats:
        return TransportStats(
            self.register_reads - earlier.register_reads,
            self.register_writes - earlier.register_writes,
            self.transactions - earlier.transactions,
            self.bytes_moved - earlier.bytes_moved,
        )


@runtime_checkable
class RegisterTransport(Protocol):
    @property
    def stats(self) -> TransportStats:
        """The transport's traffic counters (read-only here: a wrapper may hand out its inner one)."""
        ...

    def read(self, reg: int) -> int: ...

    def write(self, reg: int, value: int) -> None: ...

    def read_fifo(self, count: int) -> bytes: ...

    def write_fifo(self, data: bytes) -> None: ...

    def wait(self, seconds: float) -> None:
        """Give the chip `seconds` to work (may return early when an IRQ pin fires)."""

    def hard_reset(self) -> None: ...

    def close(self) -> None: ...


def check_register(reg: int) -> None:
    if not 0 <= reg <= 0x3F:
        raise ValueError(f"MFRC522 register address out of range: {reg:#x}")


def check_value(value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"register value out of range: {value!r}")
