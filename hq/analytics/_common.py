"""What every analytics query shares: which purchases count, over which window, at which store.

A purchase counts with its net amount, `amount_fen - refunded_fen` (a refund lowers the sale it
refunds, at the sale's time: HQ keeps the refunded total on the purchase row), and only while that
is positive: a fully refunded purchase did not happen. Purchases are always a member's
(`purchases.member_id` is NOT NULL): HQ is not told about sales to non-members.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hq.store import tables as t

P = t.purchases
NET = (P.c.amount_fen - P.c.refunded_fen).label("net_fen")


class AnalyticsError(ValueError):
    """A question the analytics cannot answer as asked (a naive time, a window of no days)."""


def aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None:
        raise AnalyticsError(f"{name} must be an aware datetime")
    return value


def window_start(as_of: dt.datetime, window_days: int) -> dt.datetime:
    """The first instant of the `window_days` before `as_of`; the window is [start, as_of)."""
    aware(as_of, "as_of")
    if window_days <= 0:
        raise AnalyticsError("window_days must be positive")
    return as_of - dt.timedelta(days=window_days)


def counted(start: dt.datetime, end: dt.datetime, store_id: str | None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of the purchases that count in [start, end) (at `store_id`, or anywhere)."""
    clauses: list[sa.ColumnElement[bool]] = [P.c.at >= start, P.c.at < end, P.c.amount_fen > P.c.refunded_fen]
    if store_id is not None:
        clauses.append(P.c.store_id == store_id)
    return clauses


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is no whole (a rate of nothing is not 0)."""
    return part / whole if whole else None
