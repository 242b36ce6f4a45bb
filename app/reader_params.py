"""How config.yaml's `reader` section maps onto `drivers.transport.open_transport` parameters.

One place, used by the app and by `kiosk doctor`, so both open the reader the same way.
(The emulator is not opened from here: the simulation owns its field and chip.)
"""

from __future__ import annotations

from typing import Any


def transport_params(reader: Any) -> dict[str, Any]:
    """Keyword arguments for open_transport(reader.driver, ...) from a ReaderConfig."""
    if reader.driver == "spi":
        return {
            "bus": reader.spi_bus,
            "device": reader.spi_device,
            "speed_hz": reader.spi_speed_hz,
            "reset_pin": reader.reset_pin,
            "irq_pin": reader.irq_pin,
            "gpio_backend": reader.gpio_backend,
        }
    if reader.driver == "uart":
        return {
            "port": reader.serial_port,
            "baudrate": reader.baud,
            "reset_pin": reader.reset_pin,
            "gpio_backend": reader.gpio_backend,
        }
    if reader.driver == "mfrc522":
        # The package takes BOARD-numbered pins and -1 for "not wired"; we only pass the bus here
        # and let our own code drive the reset pin through the transport's hard_reset.
        return {"bus": reader.spi_bus, "device": reader.spi_device, "speed_hz": reader.spi_speed_hz}
    raise ValueError(f"no hardware parameters for reader driver {reader.driver!r}")
