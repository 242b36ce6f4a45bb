"""Events the reader service emits (small frozen dataclasses the session and telemetry consume)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar, Union

#: What the read job returns: the app injects the domain's job, so the driver never names its type.
R = TypeVar("R")

OK, RECOVERING, FAILED = "ok", "recovering", "failed"


@dataclass(frozen=True)
class CardPresented(Generic[R]):
    """A card arrived and `result` is the complete outcome of the read job (never partial)."""

    uid: bytes
    card_type: str
    result: R
    at: datetime


@dataclass(frozen=True)
class CardRemoved:
    """The presented card has been gone for the cooldown (a brief wobble is not a removal)."""

    uid: bytes
    at: datetime


@dataclass(frozen=True)
class ReadFailed:
    """A card was seen but could not be read completely after retries; uid is None on a collision."""

    uid: bytes | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class ReaderHealthChanged:
    state: str
    last_error: str | None
    at: datetime


@dataclass(frozen=True)
class ReaderHealth:
    """Snapshot for screens and telemetry."""

    state: str
    last_error: str | None
    version: int | None
    counts: Mapping[str, int] = field(default_factory=dict)
    #: The chip's name from VersionReg (drivers/chips.py), e.g. "Fudan FM17522 (MFRC522 clone)".
    chip: str | None = None


#: Everything the reader service emits; `ReaderEvent[TapOutcome]` when the read job returns TapOutcome.
ReaderEvent = Union[CardPresented[R], CardRemoved, ReadFailed, ReaderHealthChanged]  # noqa: UP007 (a generic alias needs Union)
