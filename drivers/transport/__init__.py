"""Register transports: how the protocol driver reaches an MFRC522.

`open_transport(kind, **params)` picks one by name so config decides the bus:

- "emulator": `chip=` an MFRC522Emulator (a fresh one with an empty field if omitted)
- "spi": spidev; `bus`, `device`, `speed_hz` (default 4 MHz), `reset_pin`, `irq_pin`, `gpio_backend`
  (pins through the GPIO seam in pins.py: lgpio, RPi.GPIO)
- "uart": pyserial; `port`, `baudrate` (default 9600), `reset_pin`, `gpio_backend`
- "mfrc522": the `mfrc522` PyPI package (0.0.7) as a compatibility backend
- `spy=True` wraps any of them in SpyTransport, which logs every register access.
"""

from __future__ import annotations

from typing import Any

from drivers.transport.base import RegisterTransport, TransportStats

KINDS = ("emulator", "spi", "uart", "mfrc522")


def open_transport(kind: str, *, spy: bool = False, **params: Any) -> RegisterTransport:
    """Open the transport named `kind`; hardware libraries are imported only here."""
    transport: RegisterTransport
    if kind == "emulator":
        from drivers.transport.emulator import EmulatorTransport

        chip = params.pop("chip", None)
        if chip is None:
            from drivers.emulator import MFRC522Emulator

            chip = MFRC522Emulator()
        _no_leftovers(kind, params)
        transport = EmulatorTransport(chip)
    elif kind == "spi":
        from drivers.transport.spi import SpiTransport

        transport = SpiTransport.open(**params)
    elif kind == "uart":
        from drivers.transport.uart import UartTransport

        transport = UartTransport.open(**params)
    elif kind == "mfrc522":
        from drivers.transport.mfrc522pkg import Mfrc522PackageTransport

        transport = Mfrc522PackageTransport.open(**params)
    else:
        raise ValueError(f"unknown transport kind {kind!r}; expected one of {KINDS}")
    if spy:
        from drivers.transport.spy import SpyTransport

        transport = SpyTransport(transport)
    return transport


def _no_leftovers(kind: str, params: dict[str, Any]) -> None:
    if params:
        raise TypeError(f"unexpected parameters for the {kind} transport: {sorted(params)}")


__all__ = ["KINDS", "RegisterTransport", "TransportStats", "open_transport"]
