"""SpyTransport: wraps any transport and logs every register access (pyserial's spy:// idea).

Meant for the field: turn it on in config, reproduce the problem, read the log. Register names are
printed so a technician can follow the datasheet. Keeps the last `keep` accesses in memory too.
"""

from __future__ import annotations

import logging
from collections import deque

from drivers import registers as r
from drivers.transport.base import RegisterTransport, TransportStats

_LOG = logging.getLogger(__name__)

_NOT_REGISTERS = (
    "CMD_",
    "IRQ_",
    "ERR_",
    "DIV_IRQ_",
    "VERSION_",
    "STATUS2_",
    "FIFO_FLUSH",
    "CONTROL_",
    "BIT_FRAMING_",
    "COLL_",
    "T_MODE_",
    "TX_CONTROL_",
    "TX_ASK_",
    "COMMAND_",
    "FIFO_SIZE",
)


def _register_names() -> dict[int, str]:
    # The first name defined for an address wins: registers.py lists the registers before any bit
    # mask or field value that happens to fit in 0..0x3F (a self-test value of 0x09 is not FIFO_DATA).
    names: dict[int, str] = {}
    for name, value in vars(r).items():
        if isinstance(value, int) and name.isupper() and 0 <= value <= 0x3F and not name.startswith(_NOT_REGISTERS):
            names.setdefault(value, name)
    return names


NAMES = _register_names()


def register_name(reg: int) -> str:
    return NAMES.get(reg, f"reg{reg:02X}")


class SpyTransport:
    def __init__(self, inner: RegisterTransport, *, logger: logging.Logger = _LOG, keep: int = 1000) -> None:
        self.inner = inner
        self.log = logger
        self.trace: deque[str] = deque(maxlen=keep)

    @property
    def stats(self) -> TransportStats:
        return self.inner.stats

    def _note(self, line: str) -> None:
        self.trace.append(line)
        self.log.debug("%s", line)

    def read(self, reg: int) -> int:
        value = self.inner.read(reg)
        self._note(f"R {register_name(reg)} -> {value:02X}")
        return value

    def write(self, reg: int, value: int) -> None:
        self._note(f"W {register_name(reg)} <- {value:02X}")
        self.inner.write(reg, value)

    def read_fifo(self, count: int) -> bytes:
        data = self.inner.read_fifo(count)
        self._note(f"R FIFO_DATA x{count} -> {data.hex(' ')}")
        return data

    def write_fifo(self, data: bytes) -> None:
        self._note(f"W FIFO_DATA <- {bytes(data).hex(' ')}")
        self.inner.write_fifo(data)

    def wait(self, seconds: float) -> None:
        self._note(f"wait {seconds * 1e3:.3f} ms")
        self.inner.wait(seconds)

    def hard_reset(self) -> None:
        self._note("hard reset")
        self.inner.hard_reset()

    def after_reset(self) -> None:
        """Forwarded: a UART transport re-syncs its baud rate after a soft reset (drivers/mfrc522.py)."""
        inner = getattr(self.inner, "after_reset", None)
        if inner is not None:
            self._note("after reset")
            inner()

    def close(self) -> None:
        self._note("close")
        self.inner.close()
