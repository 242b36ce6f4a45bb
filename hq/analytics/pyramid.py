"""The A/B/C/D pyramid: members ranked by revenue over a window, cut by cumulative revenue share.

Ranked: every member with counted purchases (hq.analytics._common) in [as_of - window_days,
as_of), at `store_id` when given, by net revenue, highest first (ties by member id, so the cut
is the same on every database). With `before` the revenue of the members ranked above a member
and T the total, the member's tier is the first whose cut-off exceeds `before / T`:

- A: before < 50 % of T (the members who bring the first half of the revenue; the one who crosses
  the line included),
- B: before < 80 %,
- C: before < 95 %,
- D: the rest.

So A and B together bring at least 80 % of the revenue, and a programme where "about 20 % of the
members bring 80 %" shows A + B near 20 % of the members. The cut-offs are a parameter
(`cutoffs_pct`, integer percents, increasing). Members without a counted purchase in the window
are not ranked; `PyramidTier.member_share` is of the ranked members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.analytics._common import NET, PER_MEMBER_PLAN, AnalyticsError, P, counted, planner, share, window_start

TIERS = ("A", "B", "C", "D")
CUTOFFS_PCT = (50, 80, 95)


@dataclass(frozen=True)
class PyramidTier:
    """One tier: its members, their revenue, and both as shares of the ranked total."""

    tier: str
    members: int
    member_share: float | None
    revenue_fen: int
    revenue_share: float | None
    min_revenue_fen: int | None  # the smallest member revenue in the tier (None: empty tier)
    max_revenue_fen: int | None


def pyramid(
    conn: Connection,
    *,
    as_of: dt.datetime,
    window_days: int,
    store_id: str | None = None,
    cutoffs_pct: Sequence[int] = CUTOFFS_PCT,
) -> list[PyramidTier]:
    """Tiers A, B, C, D (all four, empty ones with zeros)."""
    cuts = tuple(cutoffs_pct)
    if len(cuts) != 3 or not 0 < cuts[0] < cuts[1] < cuts[2] <= 100:
        raise AnalyticsError("cutoffs_pct: three increasing integer percents in (0, 100]")
    start = window_start(as_of, window_days)
    per_member = (
        sa.select(P.c.member_id, sa.func.sum(NET).label("revenue"))
        .where(*counted(start, as_of, store_id))
        .group_by(P.c.member_id)
        .subquery("per_member")
    )
    order = (per_member.c.revenue.desc(), per_member.c.member_id)
    ranked = sa.select(
        per_member.c.revenue,
        (sa.func.sum(per_member.c.revenue).over(order_by=order, rows=(None, -1))).label("before"),
        sa.func.sum(per_member.c.revenue).over().label("total"),
    ).subquery("ranked")
    before = sa.func.coalesce(ranked.c.before, 0)
    tier = sa.case(
        *((100 * before < cut * ranked.c.total, name) for name, cut in zip(TIERS, cuts, strict=False)),
        else_="D",
    ).label("tier")
    tiered = sa.select(ranked.c.revenue, tier).subquery("tiered")
    query = sa.select(
        tiered.c.tier,
        sa.func.count().label("members"),
        sa.func.sum(tiered.c.revenue).label("revenue"),
        sa.func.min(tiered.c.revenue).label("low"),
        sa.func.max(tiered.c.revenue).label("high"),
    ).group_by(tiered.c.tier)
    with planner(conn, PER_MEMBER_PLAN):
        found = {row.tier: row for row in conn.execute(query)}
    members = sum(int(row.members) for row in found.values())
    revenue = sum(int(row.revenue) for row in found.values())
    out = []
    for name in TIERS:
        row = found.get(name)
        if row is None:
            out.append(PyramidTier(name, 0, share(0, members), 0, share(0, revenue), None, None))
            continue
        n, money = int(row.members), int(row.revenue)
        out.append(PyramidTier(name, n, share(n, members), money, share(money, revenue), int(row.low), int(row.high)))
    return out
