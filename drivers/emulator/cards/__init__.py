"""Emulated contactless cards: MIFARE Classic 1K (4- or 7-byte UID), NTAG213/215/216 and MIFARE Ultralight."""

from drivers.emulator.cards.classic import AuthOutcome, MifareClassic1K, parse_value, trailer, value_block
from drivers.emulator.cards.iso14443 import CardState, Iso14443Card
from drivers.emulator.cards.ultralight import Ntag213, Ntag215, Ntag216, Ultralight

__all__ = [
    "AuthOutcome",
    "CardState",
    "Iso14443Card",
    "MifareClassic1K",
    "Ntag213",
    "Ntag215",
    "Ntag216",
    "Ultralight",
    "parse_value",
    "trailer",
    "value_block",
]
