"""Exception tree for card security, plus the injected classification of driver errors.

`kiosk.cards` must not import `drivers`, yet it has to tell "the card refused our key" (a blank
or foreign card: an answer) from "the card left the field" (try again). The composition root
passes the driver's exception classes in a `CardFaults`, e.g.
`CardFaults(io=(ReaderError,), wrong_key=(AuthError,))`; nothing here knows their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import KioskError


class CardSecurityError(KioskError):
    """Root of everything kiosk.cards raises on purpose."""


class MasterKeyFileError(CardSecurityError, ValueError):
    """The key file is missing, unreadable, too open, or malformed (message never holds key bytes)."""


class RecordFormatError(CardSecurityError, ValueError):
    """Bytes are not a member record; `reason` is a short machine code such as "bad_magic"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class AccessBitsError(CardSecurityError, ValueError):
    """Access bits are inconsistent (their inverted copies disagree) or a condition is invalid."""


class UnsupportedCard(CardSecurityError):
    """The tag is not a MIFARE Classic 1K, so it cannot carry a member record."""


class CardNotBlank(CardSecurityError):
    """Personalization needs a card in transport state (or one we personalized half way)."""


class CardKeysUnknown(CardSecurityError):
    """A sector accepts neither the transport key nor this card's diversified keys."""


class CardWriteVerifyFailed(CardSecurityError):
    """What we read back after a write is not what we wrote."""


@dataclass(frozen=True)
class CardFaults:
    """Which driver exceptions mean what; injected by the wiring (app/bootstrap.py, tests).

    io: every card I/O failure (the driver's root, `ReaderError`): the card may have left the
        field, the operation may or may not have reached the card.
    wrong_key: the card refused authentication (`AuthError`): a key mismatch is an answer about
        the card, not a transient fault. Must be a subset of `io`.
    """

    io: tuple[type[BaseException], ...]
    wrong_key: tuple[type[BaseException], ...]
