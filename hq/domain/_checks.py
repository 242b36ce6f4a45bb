"""Argument checks shared by the domain modules (integers that are counts, aware times)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hq.domain.errors import InvalidAmount, NaiveTime


def count(value: Any, name: str) -> int:
    """A non-negative integer (fen or points). `bool` is an int to Python, but never a count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise InvalidAmount(f"{name} must not be negative, got {value}")
    return value


def aware(value: Any, name: str) -> dt.datetime:
    """A datetime with a UTC offset; naive times would compare by wall clock across time zones."""
    if not isinstance(value, dt.datetime):
        raise NaiveTime(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveTime(f"{name} must be timezone-aware (e.g. +08:00), got {value.isoformat()}")
    return value


def decimal_factor(value: Any, name: str) -> Decimal:
    """A finite, non-negative Decimal. Floats are refused: 1.1 is not exactly 1.1."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite() or value < 0:
        raise InvalidAmount(f"{name} must be a finite, non-negative decimal, got {value}")
    return value
