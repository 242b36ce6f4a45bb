"""An optional presence sensor (PIR, microwave radar, time-of-flight with a digital output) on a GPIO.

While nobody is near, the reader may poll the field less often (`ReaderThread`'s idle interval):
each poll is a wake-up of the reader thread, which is what an idle kiosk's CPU is made of. The
sensor says when somebody is there; the reader then goes back to the fast poll before their card
can reach the antenna (a PIR module sees a person a metre or more away and holds its output high
for seconds, far longer than the idle interval at which its level is read).

The sensor is read as a level, by the reader thread, once per poll: no callbacks, no thread of
its own. `SimulatedPresence` stands in for it in the simulation and tests (its level is set by the
simulation's control socket or by a test).
"""

from __future__ import annotations

import logging
from typing import Protocol

from drivers.errors import GpioFault
from drivers.transport.pins import GpioLines, open_lines

_LOG = logging.getLogger(__name__)


class PresenceSensor(Protocol):
    def present(self) -> bool:
        """Somebody is near right now."""
        ...

    def close(self) -> None: ...


class SimulatedPresence:
    """A sensor whose level is set from outside (the simulation's shopper, a test)."""

    def __init__(self, near: bool = False) -> None:
        self.near = near
        self.reads = 0

    def present(self) -> bool:
        self.reads += 1
        return self.near

    def close(self) -> None:
        pass


class GpioPresence:
    """A sensor's digital output on BCM `pin`: `active_high` (most PIR and radar modules) or low."""

    def __init__(self, pin: int, *, active_high: bool = True, lines: GpioLines | None = None, backend: str = "auto"):
        self.pin = pin
        self._active = 1 if active_high else 0
        self._lines = lines if lines is not None else open_lines(backend)
        try:
            # An input with the pull-up on: an open-collector (active-low) output needs it, a
            # push-pull one drives over it.
            self._lines.claim_irq(pin)
        except GpioFault:
            raise
        except Exception as exc:  # the library's own error types (lgpio.error, RuntimeError...)
            raise GpioFault(
                f"GPIO backend {self._lines.backend} cannot claim the presence sensor pin BCM{pin}: {exc}"
            ) from exc

    def present(self) -> bool:
        return self._lines.read(self.pin) == self._active

    def close(self) -> None:
        try:
            self._lines.release([self.pin])
        except Exception as exc:  # noqa: BLE001 - closing must not fail the shutdown
            _LOG.warning("releasing the presence sensor pin BCM%d failed: %s", self.pin, exc)
