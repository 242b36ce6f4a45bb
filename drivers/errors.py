"""One exception tree for everything the reader stack can raise.

Domain code catches `ReaderError` at the seam; the subclasses let the tap detector decide whether
a failure is worth a retry (timeouts, frame errors, a card that left) or a chip recovery (bus faults).
Builtin parents are chosen so generic handlers (``except TimeoutError``, ``except OSError``) also work.
"""

from __future__ import annotations


class ReaderError(Exception):
    """Root of every error raised by drivers/ (transports, protocol driver, tap detection)."""


class CardTimeout(ReaderError, TimeoutError):
    """No answer from a card within the chip's timer: no card, the card left, or it refused silently."""


class CollisionError(ReaderError):
    """More than one card answered at once; the kiosk refuses to guess which member is meant."""


class FrameError(ReaderError, ValueError):
    """A frame arrived damaged: CRC_A mismatch, parity or protocol error, wrong length or BCC."""


class AuthError(ReaderError, PermissionError):
    """MIFARE authentication failed (wrong key, wrong key type, or the card left during it)."""


class NakError(ReaderError):
    """The card answered with a NAK: the operation is not allowed or the data was rejected."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class BusFault(ReaderError, OSError):
    """The MFRC522 itself misbehaves: dead bus, wrong VersionReg, a command that never ends."""


class GpioFault(BusFault):
    """The reset or IRQ pin cannot be used: GPIO library missing, chip busy, no permission.

    The message names the GPIO backend and the pin, so a technician can act on it.
    """
