"""The HQ domain's exception tree: everything derives from HqDomainError.

Builtin parents are added where they fit, so a caller that only speaks Python's vocabulary
(`ValueError` for a bad document or amount, `LookupError` for an unknown code) still catches them.
"""

from __future__ import annotations


class HqDomainError(Exception):
    """Base of every error HQ's domain raises on purpose."""


class InvalidProgram(HqDomainError, ValueError):
    """The programme document is invalid; the message names the offending field's path."""


class InvalidAmount(HqDomainError, ValueError):
    """A money or points figure is out of range (negative, or a refund beyond the purchase)."""


class NaiveTime(HqDomainError, ValueError):
    """A datetime without a UTC offset: the domain only reasons about aware instants."""


class UnknownTier(HqDomainError, LookupError):
    """The programme's tier ladder has no tier with that code."""
