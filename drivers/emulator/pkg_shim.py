"""Stand-ins for the spidev and RPi.GPIO modules, wired to the emulator, for the `mfrc522` package.

The `mfrc522` package (0.0.7) imports RPi.GPIO and spidev at import time and opens the bus itself,
so it cannot be handed a bus. Only for that package do we build module objects whose SpiDev talks to
the emulator's SPI pins and whose GPIO reset pin is wired to the chip's NRSTPD. Everything else in
drivers/ receives its bus as an argument.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from drivers.emulator.wire import EmulatorGpio, EmulatorSpiDevice

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator


def spidev_module(chip: MFRC522Emulator) -> types.ModuleType:
    module = types.ModuleType("spidev")

    class SpiDev(EmulatorSpiDevice):
        def __init__(self) -> None:
            super().__init__(chip)

    module.SpiDev = SpiDev  # type: ignore[attr-defined]  # a module built at run time: mypy cannot know its attributes
    return module


def gpio_module(chip: MFRC522Emulator, reset_pin: int = 22) -> types.ModuleType:
    """An RPi.GPIO look-alike module whose pin `reset_pin` (the package's default) is NRSTPD."""
    board = EmulatorGpio(chip, reset_pin=reset_pin)
    module = types.ModuleType("RPi.GPIO")
    for name in ("BOARD", "BCM", "OUT", "IN", "LOW", "HIGH", "PUD_UP", "PUD_DOWN", "FALLING", "RISING"):
        setattr(module, name, getattr(EmulatorGpio, name))
    for name in ("getmode", "setmode", "setup", "output", "input", "cleanup"):
        setattr(module, name, getattr(board, name))
    module.board = board  # type: ignore[attr-defined]  # a module built at run time: mypy cannot know its attributes
    return module
