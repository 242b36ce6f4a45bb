"""Timing model of the emulated reader: host bus, 106 kbit/s RF frames and card response times.

Every duration the emulator charges comes from here, so a benchmark can compute latency from the
same register traffic the real driver produces. Figures are ISO/IEC 14443 and NXP datasheet values
(FDT of 1236/fc, 128/fc per bit at 106 kbit/s, EEPROM write times) or typical Linux spidev costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.registers import CARRIER_HZ

BIT_TIME_S = 128 / CARRIER_HZ  # one bit at 106 kbit/s
FRAME_DELAY_S = 1236 / CARRIER_HZ  # ISO 14443-3 frame delay time PCD->PICC (~91 us)


@dataclass(frozen=True)
class TimingModel:
    """Durations used by the emulator; change them to model a slower bus or a slower card."""

    spi_hz: float = 4_000_000.0
    spi_transaction_overhead_s: float = 15e-6  # ioctl + chip-select on a Pi, measured order
    uart_baud: int = 9600  # the chip's SerialSpeedReg default
    card_power_up_s: float = 0.0  # time a card needs after entering the field before it answers
    eeprom_write_s: float = 0.0045  # MIFARE Classic / NTAG page or block programming
    auth_processing_s: float = 0.0002  # card-side crypto set-up during each auth step
    soft_reset_s: float = 0.00004  # SoftReset: PowerDown reads set this long
    hard_reset_s: float = 0.0011  # NRSTPD held low by a reset pulse
    # After NRSTPD rises every register reads 0x00 until the oscillator runs: the datasheet's
    # 37.74 us plus the crystal's start-up (8.8.2), milliseconds on some modules. 10 ms is a slow
    # crystal, and well inside the 50 ms public drivers (and ours) wait.
    wake_up_s: float = 0.01

    def spi_transaction_s(self, nbytes: int) -> float:
        return self.spi_transaction_overhead_s + nbytes * 8 / self.spi_hz

    def uart_bytes_s(self, nbytes: int, baud: int) -> float:
        return nbytes * 10 / baud  # start + 8 data + stop

    @staticmethod
    def frame_s(nbits: int) -> float:
        """Air time of a standard frame holding `nbits` data bits (parity, SOF and EOF added)."""
        full, rest = divmod(nbits, 8)
        if nbits == 7 and full == 0:  # short frame: no parity
            return (1 + 7 + 1) * BIT_TIME_S
        return (1 + 9 * full + (rest + 1 if rest else 0) + 1) * BIT_TIME_S
