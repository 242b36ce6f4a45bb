"""Stand-ins for the spidev and RPi.GPIO modules, wired to the emulator, for the `mfrc522` package.

The `mfrc522` package (0.0.7) imports RPi.GPIO and spidev at import time and opens the bus itself,
so it cannot be handed a bus. Only for that package do we build module objects whose SpiDev talks to
the emulator's SPI pins and whose GPIO reset pin is wired to the chip's NRSTPD. Everything else in
drivers/ receives its bus as an argument.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

from drivers.emulator.wire import EmulatorSpiDevice

if TYPE_CHECKING:
    from drivers.emulator.chip import MFRC522Emulator


def spidev_module(chip: "MFRC522Emulator") -> types.ModuleType:
    module = types.ModuleType("spidev")

    class SpiDev(EmulatorSpiDevice):
        def __init__(self) -> None:
            super().__init__(chip)

    module.SpiDev = SpiDev  # type: ignore[attr-defined]
    return module


def gpio_module(chip: "MFRC522Emulator") -> types.ModuleType:
    """An RPi.GPIO look-alike: records pin levels; a low->high edge on an output resets the chip."""
    module = types.ModuleType("RPi.GPIO")
    state: dict[str, object] = {"mode": None, "pins": {}}
    module.BOARD, module.BCM, module.OUT, module.IN = 10, 11, 0, 1  # type: ignore[attr-defined]
    module.LOW, module.HIGH = 0, 1  # type: ignore[attr-defined]
    module.state = state  # type: ignore[attr-defined]

    def getmode() -> object:
        return state["mode"]

    def setmode(mode: int) -> None:
        state["mode"] = mode

    def setup(pin: int, direction: int, **_: object) -> None:
        state["pins"][pin] = 1  # type: ignore[index]

    def output(pin: int, value: int) -> None:
        pins = state["pins"]
        if pins.get(pin) == 0 and value:  # type: ignore[union-attr]
            chip.hard_reset()
        pins[pin] = 1 if value else 0  # type: ignore[index]

    def cleanup(*_: object) -> None:
        state["pins"] = {}
        state["mode"] = None

    for fn in (getmode, setmode, setup, output, cleanup):
        setattr(module, fn.__name__, fn)
    return module
