"""Monthly member metrics, fleet-wide or per store, in two SQL queries over `purchases` and `members`.

Months are calendar months in `tz` (HQ's `timezone`; UTC by default), named "YYYY-MM". A member is
*active* in a month with at least one counted purchase (hq.analytics._common) in it; at a store,
with one at that store. Per month:

- `members`: members enrolled (`members.created_at`) before the month's end; at a store, those
  enrolled there (`home_store`);
- `new_members`: of those, enrolled during the month;
- `active`: active members (at a store: any member who bought there);
- `activation_rate` = `active_enrolled / members`: the share of the members who bought in the
  month. `active_enrolled` counts the active members among `members`: fleet-wide every active
  member; at a store those enrolled there, so the rate stays within 0..1 although a store also
  serves members enrolled elsewhere;
- `churned`: members active the month before and not in this month (at a store: bought there the
  month before, not this month); `churn_rate` = `churned / prev_active`, `prev_active` being the
  active members of the month before;
- `repeat_members`: active members with at least two counted purchases in the month;
  `repeat_rate` = `repeat_members / active`;
- `purchases`, `sales_fen`: counted purchases and their net amount;
- `member_share`: always None. The share of all sales that members make cannot be computed at
  HQ, which is told only about members' purchases (`purchases.member_id` is NOT NULL; tills report
  no non-member sale); `sales_fen` is the members' side of that ratio.

A rate of nothing (no members, no activity the month before) is None, not 0. `new_members / members`
(the domain notes' "activation" in the sense of recruitment) follows from the first two fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.analytics._common import NET, NO_JIT, AnalyticsError, P, counted, planner, share
from hq.store import tables as t
from hq.store.types import UtcDateTime

UTC: dt.tzinfo = ZoneInfo("UTC")


@dataclass(frozen=True)
class MonthMetrics:
    """One month, fleet-wide (`store_id` None) or at one store; see the module docstring."""

    month: str
    store_id: str | None
    members: int
    new_members: int
    active: int
    active_enrolled: int
    activation_rate: float | None
    prev_active: int
    churned: int
    churn_rate: float | None
    repeat_members: int
    repeat_rate: float | None
    purchases: int
    sales_fen: int
    member_share: float | None = None


def _parse(month: str) -> tuple[int, int]:
    try:
        year, number = (int(part) for part in month.split("-"))
    except ValueError:
        raise AnalyticsError(f"month {month!r}: expected YYYY-MM") from None
    if not (1 <= number <= 12 and 1 <= year <= 9999 and len(month) == 7):
        raise AnalyticsError(f"month {month!r}: expected YYYY-MM")
    return year, number


def _ordinal(month: str) -> int:
    year, number = _parse(month)
    return year * 12 + number - 1


def _name(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _start(ordinal: int, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime(ordinal // 12, ordinal % 12 + 1, 1, tzinfo=tz)


def _bucket(column: sa.ColumnElement[Any], bounds: Sequence[dt.datetime], lo: int, hi: int) -> sa.ColumnElement[int]:
    """The index i in [lo, hi) with bounds[i] <= column < bounds[i + 1], for a column already known
    to lie in [bounds[lo], bounds[hi]): a nested CASE that halves the range each level, so a row
    costs log2(months) comparisons whatever the database."""
    if hi - lo == 1:
        return sa.literal(lo, sa.Integer)
    mid = (lo + hi) // 2
    return sa.case(
        (column < sa.literal(bounds[mid], UtcDateTime), _bucket(column, bounds, lo, mid)),
        else_=_bucket(column, bounds, mid, hi),
    )


def monthly_metrics(
    conn: Connection,
    *,
    months: Sequence[str],
    tz: dt.tzinfo = UTC,
    store_id: str | None = None,
    by_store: bool = False,
) -> list[MonthMetrics]:
    """The metrics of `months` ("YYYY-MM", any order; returned ascending): fleet-wide, at
    `store_id`, or with `by_store` for every store that has members or purchases (ordered by store,
    then month). Months between the earliest and latest are read too (churn needs each month's
    predecessor)."""
    if not months:
        return []
    if by_store and store_id is not None:
        raise AnalyticsError("by_store and store_id exclude each other")
    wanted = sorted({_ordinal(m) for m in months})
    first, last = wanted[0] - 1, wanted[-1]  # the month before the first: its churn
    bounds = [_start(o, tz) for o in range(first, last + 2)]
    span = len(bounds) - 1

    # One pass over the purchases in (member, time) order: each row knows the month of the
    # member's previous two purchases (LAG), so the first purchase of a member in a month counts
    # them active, the second counts a repeat, and a first one whose predecessor is in the month
    # before counts them retained (churned = last month's active - this month's retained). Only
    # months are grouped: no table of members or member-months is built, and an index on
    # (member_id, at) hands PostgreSQL the rows in order (hq.store.migrations, step 9).
    partition: list[Any] = [P.c.store_id, P.c.member_id] if by_store else [P.c.member_id]
    inner = (
        sa.select(*partition, _bucket(P.c.at, bounds, 0, span).label("bucket"), NET, P.c.at)
        .where(*counted(bounds[0], bounds[-1], store_id))
        .subquery("inner")
    )
    i = inner.c
    # member first: the index's order, so per store PostgreSQL only sorts each member's rows
    members_of: list[Any] = [i.member_id, i.store_id] if by_store else [i.member_id]
    ordered = sa.select(
        *([i.store_id] if by_store else []),
        i.member_id,
        i.bucket,
        i.net_fen,
        sa.func.lag(i.bucket, 1).over(partition_by=members_of, order_by=i.at).label("prev1"),
        sa.func.lag(i.bucket, 2).over(partition_by=members_of, order_by=i.at).label("prev2"),
    ).subquery("ordered")
    o = ordered.c
    first_in_month = sa.or_(o.prev1.is_(None), o.prev1 != o.bucket)
    second_in_month = sa.and_(o.prev1 == o.bucket, sa.or_(o.prev2.is_(None), o.prev2 != o.bucket))
    enrolled_here: Any = first_in_month
    source: Any = ordered
    if by_store or store_id is not None:
        m = t.members
        source = ordered.outerjoin(m, m.c.member_id == o.member_id)
        here = o.store_id if by_store else sa.literal(store_id, sa.String)
        enrolled_here = sa.and_(first_in_month, m.c.home_store == here)

    def count_if(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    store_key: list[Any] = [o.store_id] if by_store else []
    by_month = (
        sa.select(
            *store_key,
            o.bucket,
            count_if(first_in_month).label("active"),
            count_if(enrolled_here).label("active_enrolled"),
            count_if(second_in_month).label("repeat"),
            count_if(o.prev1 == o.bucket - 1).label("retained"),
            sa.func.count().label("purchases"),
            sa.func.sum(o.net_fen).label("sales"),
        )
        .select_from(source)
        .group_by(*store_key, o.bucket)
    )
    acts: dict[tuple[str | None, int], Any] = {}
    with planner(conn, NO_JIT):
        found = conn.execute(by_month).all()
    for row in found:
        acts[(row.store_id if by_store else store_id, int(row.bucket))] = row

    # Enrolments: per (home store,) bucket, -1 before the first month; cumulated below.
    m = t.members
    enrol_bucket = sa.case((m.c.created_at < bounds[0], -1), else_=_bucket(m.c.created_at, bounds, 0, span))
    member_keys: list[Any] = [m.c.home_store] if by_store else []
    enrol = sa.select(*member_keys, enrol_bucket.label("bucket"), sa.func.count().label("n")).where(
        m.c.created_at < bounds[-1]
    )
    if store_id is not None:
        enrol = enrol.where(m.c.home_store == store_id)
    enrol = enrol.group_by(*member_keys, enrol_bucket)
    joined: dict[tuple[str | None, int], int] = {}
    for row in conn.execute(enrol):
        key = (row.home_store if by_store else store_id, int(row.bucket))
        joined[key] = int(row.n)

    stores: list[str | None]
    if by_store:
        named = {s for s, _ in acts if s is not None} | {s for s, _ in joined if s is not None}
        stores = list(sorted(named))
    else:
        stores = [store_id]
    out: list[MonthMetrics] = []
    for store in stores:
        enrolled = joined.get((store, -1), 0)
        for index in range(span):
            new = joined.get((store, index), 0)
            enrolled += new
            ordinal = first + index
            if ordinal not in wanted:
                continue
            cur: Any = acts.get((store, index))
            prev: Any = acts.get((store, index - 1))
            active = int(cur.active) if cur else 0
            active_enrolled = int(cur.active_enrolled) if cur else 0
            repeat = int(cur.repeat) if cur else 0
            prev_active = int(prev.active) if prev else 0
            churned = prev_active - (int(cur.retained) if cur else 0)
            out.append(
                MonthMetrics(
                    month=_name(ordinal),
                    store_id=store,
                    members=enrolled,
                    new_members=new,
                    active=active,
                    active_enrolled=active_enrolled,
                    activation_rate=share(active_enrolled, enrolled),
                    prev_active=prev_active,
                    churned=churned,
                    churn_rate=share(churned, prev_active),
                    repeat_members=repeat,
                    repeat_rate=share(repeat, active),
                    purchases=int(cur.purchases) if cur else 0,
                    sales_fen=int(cur.sales) if cur else 0,
                )
            )
    return out
