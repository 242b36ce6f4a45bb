"""Test rigs: the real protocol driver on each transport, all ending at the register-level emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from drivers.emulator import Field, MFRC522Emulator, TimingModel
from drivers.emulator.wire import EmulatorGpio, EmulatorSpiDevice, PtyUartServer
from drivers.mfrc522 import Mfrc522
from drivers.transport.emulator import EmulatorTransport
from drivers.transport.pins import ControlPins
from drivers.transport.spi import SpiTransport
from drivers.transport.uart import UartTransport

TRANSPORTS = ("emulator", "spi", "uart")


@dataclass
class Rig:
    kind: str
    field: Field
    chip: MFRC522Emulator
    transport: Any
    driver: Mfrc522
    _closers: list[Callable[[], None]] = dc_field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()


def make_rig(kind: str, *, version: int = 0x92, timing: TimingModel | None = None, init: bool = True) -> Rig:
    field = Field()
    chip = MFRC522Emulator(field, version=version, timing=timing)
    closers: list[Callable[[], None]] = []
    if kind == "emulator":
        transport: Any = EmulatorTransport(chip)
    elif kind == "spi":
        wire = EmulatorSpiDevice(chip)
        pins = ControlPins(reset_pin=25, gpio=EmulatorGpio(chip), sleep=wire.sleep)
        transport = SpiTransport(wire, pins=pins, sleep=wire.sleep)
    elif kind == "uart":
        server = PtyUartServer(chip)
        server.start()
        closers.append(server.close)
        transport = UartTransport.open(server.port, sleep=server.sleep, reset_pin=25, gpio=EmulatorGpio(chip))
        closers.append(transport.close)
    else:
        raise ValueError(kind)
    driver = Mfrc522(transport)
    rig = Rig(kind, field, chip, transport, driver, closers)
    if init:
        driver.init()
    return rig
