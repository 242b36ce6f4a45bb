"""RFM (recency, frequency, monetary) scores and segments, in one SQL query over `purchases`.

Who is scored: every member with at least one counted purchase (hq.analytics._common) in the
window [as_of - window_days, as_of), at `store_id` when given. Per member:

- recency: the last counted purchase in the window (`recency_days` = whole days from it to as_of);
- frequency: the counted purchases in the window;
- monetary: their net amount in fen.

Scores 1..5 are quintiles of the scored members by rank, ties sharing a score: a member's score
for a measure is `1 + 5 * (rank - 1) // n`, with `rank` the SQL RANK() (1 + the members strictly
worse) and n the members scored. Without ties this is exactly NTILE(5) (with n = 10: 1,1,2,2,...,
5,5); with ties (many members buy once) every tied member gets the score of the first of them,
so the result does not depend on the order a database breaks ties in, and a score may be skipped.
Worse means an older last purchase (R), fewer purchases (F), less money (M).

Segments from R and F (M is reported, not used: the classic RF grid), first match wins:

| segment           | R    | F    | reading                                         |
|-------------------|------|------|-------------------------------------------------|
| `champions`       | 4-5  | 4-5  | bought recently and often                        |
| `loyal`           | 3-5  | 3-5  | buy often, not all that recently (rest of 3-5)   |
| `new`             | 4-5  | 1    | recent, but (so far) among the least frequent    |
| `promising`       | 4-5  | 2    | recent, a few purchases                          |
| `needs_attention` | 3    | 1-2  | middling recency, few purchases                  |
| `at_risk`         | 1-2  | 3-5  | used to buy often, not for a while               |
| `hibernating`     | 1-2  | 1-2  | long ago and seldom                              |

Every (R, F) pair has exactly one segment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.analytics._common import NET, PER_MEMBER_PLAN, AnalyticsError, P, counted, planner, share, window_start

SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "new",
    "promising",
    "needs_attention",
    "at_risk",
    "hibernating",
)


def segment_of(r: int, f: int) -> str:
    """The segment of scores (r, f): the table in the module docstring, in Python (the SQL's twin)."""
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "new" if f == 1 else "promising"
    if r == 3:
        return "needs_attention"
    return "at_risk" if f >= 3 else "hibernating"


@dataclass(frozen=True)
class RfmRow:
    """One scored member."""

    member_id: str
    last_purchase_at: dt.datetime
    recency_days: int
    frequency: int
    monetary_fen: int
    r: int
    f: int
    m: int
    segment: str


@dataclass(frozen=True)
class RfmSegment:
    """A segment's size and weight (all segments are listed, empty ones with zeros)."""

    segment: str
    members: int
    member_share: float | None
    purchases: int
    revenue_fen: int
    revenue_share: float | None


@dataclass(frozen=True)
class RfmCell:
    """One cell of the R x F grid (25 cells, empty ones with zeros): the usual RFM heat map."""

    r: int
    f: int
    segment: str
    members: int
    revenue_fen: int


def _segment_sql(r: sa.ColumnElement[Any], f: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.case(
        (sa.and_(r >= 4, f >= 4), "champions"),
        (sa.and_(r >= 3, f >= 3), "loyal"),
        (sa.and_(r >= 4, f == 1), "new"),
        (r >= 4, "promising"),
        (r == 3, "needs_attention"),
        (f >= 3, "at_risk"),
        else_="hibernating",
    )


def _scored(as_of: dt.datetime, window_days: int, store_id: str | None) -> sa.Subquery:
    start = window_start(as_of, window_days)
    per_member = (
        sa.select(
            P.c.member_id,
            sa.func.max(P.c.at).label("last_at"),
            sa.func.count().label("frequency"),
            sa.func.sum(NET).label("monetary"),
        )
        .where(*counted(start, as_of, store_id))
        .group_by(P.c.member_id)
        .subquery("per_member")
    )
    n = sa.func.count().over()

    def score(measure: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        return 1 + (5 * (sa.func.rank().over(order_by=measure) - 1)) // n

    scores = sa.select(
        per_member,
        score(per_member.c.last_at).label("r"),
        score(per_member.c.frequency).label("f"),
        score(per_member.c.monetary).label("m"),
    ).subquery("scores")
    return sa.select(scores, _segment_sql(scores.c.r, scores.c.f).label("segment")).subquery("scored")


def rfm(
    conn: Connection,
    *,
    as_of: dt.datetime,
    window_days: int,
    store_id: str | None = None,
    segment: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RfmRow]:
    """Every scored member (or one segment's), by member id; `limit`/`offset` page through them."""
    if segment is not None and segment not in SEGMENTS:
        raise AnalyticsError(f"unknown segment {segment!r}; one of {', '.join(SEGMENTS)}")
    scored = _scored(as_of, window_days, store_id)
    query = sa.select(scored).order_by(scored.c.member_id).offset(offset)
    if segment is not None:
        query = query.where(scored.c.segment == segment)
    if limit is not None:
        query = query.limit(limit)
    with planner(conn, PER_MEMBER_PLAN):
        found = conn.execute(query).all()
    rows = []
    for row in found:
        last_at: dt.datetime = row.last_at
        rows.append(
            RfmRow(
                member_id=row.member_id,
                last_purchase_at=last_at,
                recency_days=(as_of - last_at) // dt.timedelta(days=1),
                frequency=int(row.frequency),
                monetary_fen=int(row.monetary),
                r=int(row.r),
                f=int(row.f),
                m=int(row.m),
                segment=row.segment,
            )
        )
    return rows


def rfm_segments(
    conn: Connection, *, as_of: dt.datetime, window_days: int, store_id: str | None = None
) -> list[RfmSegment]:
    """Members, purchases and revenue per segment, in the order of SEGMENTS (aggregated in SQL)."""
    scored = _scored(as_of, window_days, store_id)
    query = sa.select(
        scored.c.segment,
        sa.func.count().label("members"),
        sa.func.sum(scored.c.frequency).label("purchases"),
        sa.func.sum(scored.c.monetary).label("revenue"),
    ).group_by(scored.c.segment)
    with planner(conn, PER_MEMBER_PLAN):
        found = {row.segment: row for row in conn.execute(query)}
    members = sum(int(row.members) for row in found.values())
    revenue = sum(int(row.revenue) for row in found.values())
    out = []
    for name in SEGMENTS:
        row = found.get(name)
        n, purchases, money = (int(row.members), int(row.purchases), int(row.revenue)) if row else (0, 0, 0)
        out.append(RfmSegment(name, n, share(n, members), purchases, money, share(money, revenue)))
    return out


def rfm_grid(conn: Connection, *, as_of: dt.datetime, window_days: int, store_id: str | None = None) -> list[RfmCell]:
    """The 25 (R, F) cells, R then F ascending, with their members and revenue."""
    scored = _scored(as_of, window_days, store_id)
    query = sa.select(
        scored.c.r, scored.c.f, sa.func.count().label("members"), sa.func.sum(scored.c.monetary).label("revenue")
    ).group_by(scored.c.r, scored.c.f)
    with planner(conn, PER_MEMBER_PLAN):
        found = {(int(row.r), int(row.f)): (int(row.members), int(row.revenue)) for row in conn.execute(query)}
    return [RfmCell(r, f, segment_of(r, f), *found.get((r, f), (0, 0))) for r in range(1, 6) for f in range(1, 6)]
