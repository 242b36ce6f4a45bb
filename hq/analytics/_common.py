"""What every analytics query shares: which purchases count, over which window, at which store.

A purchase counts with its net amount, `amount_fen - refunded_fen` (a refund lowers the sale it
refunds, at the sale's time: HQ keeps the refunded total on the purchase row), and only while that
is positive: a fully refunded purchase did not happen. Purchases are always a member's
(`purchases.member_id` is NOT NULL): HQ is not told about sales to non-members.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


#: PostgreSQL settings for the per-member aggregations (RFM, pyramid), measured over 1,000,000
#: members and 20,000,000 purchases (docs/benchmarks.md, bench.console): left to itself the planner
#: hashes ~10 million rows into a million groups (Partial HashAggregate, 24 s of server CPU for
#: rfm_segments), where reading the (member_id, at) index in order and aggregating each member as
#: it passes (Parallel Index Only Scan, Partial GroupAggregate) takes 8 s; and JIT compilation
#: alone cost 2-4 s per query. The planner's cost model does not see the hash table's cache misses.
PER_MEMBER_PLAN = {
    "jit": "off",
    "enable_hashagg": "off",
    "enable_seqscan": "off",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0.0001",
}
#: For the monthly pass, which already streams the index in order: JIT only.
NO_JIT = {"jit": "off"}


@contextlib.contextmanager
def planner(conn: Connection, settings: dict[str, str]) -> Iterator[None]:
    """Planner settings for the statements inside, on PostgreSQL (elsewhere nothing): set for the
    caller's transaction with set_config(..., is_local) and put back as they were afterwards, so
    the caller's other statements plan as before. After an error the transaction is aborted and
    its rollback undoes the settings."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = {name: conn.execute(sa.text("SELECT current_setting(:n)"), {"n": name}).scalar_one() for name in settings}
    set_config = sa.text("SELECT set_config(:n, :v, true)")
    for name, value in settings.items():
        conn.execute(set_config, {"n": name, "v": value})
    yield
    for name, value in before.items():
        conn.execute(set_config, {"n": name, "v": value})
