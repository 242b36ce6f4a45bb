"""Where the member record lives on a MIFARE Classic 1K (see docs/card-layout.md).

Two record copies, one per application sector, each filling the sector's three data blocks.
Sector 0 is left out: it holds the manufacturer block and is where a MAD would live.
A record with counter n is always written to copy n % 2, so a write only ever overwrites the
older copy and a torn write leaves the newer surviving copy intact.
"""

from __future__ import annotations

from kiosk.cards.keys import SECTORS

CARD_TYPE = "mifare_classic_1k"
BLOCK_BYTES = 16
BLOCKS_PER_SECTOR = 4
RECORD_SECTORS: tuple[int, int] = (1, 2)  # copy 0, copy 1
RECORD_BLOCKS_PER_COPY = 3
# Every sector gets diversified keys: a sector left on a known key is the foothold the "nested"
# key-recovery attack needs, so none is left behind.
KEYED_SECTORS: tuple[int, ...] = tuple(range(SECTORS))


def trailer_block(sector: int) -> int:
    return sector * BLOCKS_PER_SECTOR + 3


def data_blocks(sector: int) -> tuple[int, int, int]:
    first = sector * BLOCKS_PER_SECTOR
    return (first, first + 1, first + 2)


def copy_sector(copy: int) -> int:
    return RECORD_SECTORS[copy]


def copy_for_counter(counter: int) -> int:
    """Which copy a record with `counter` is written to (alternating)."""
    return counter % 2
