"""Member analytics for HQ's console (issue #23): RFM, the A/B/C/D pyramid, monthly metrics, CSV.

Computed in SQL over `purchases` and `members` (SQLAlchemy Core; the same queries on SQLite and
PostgreSQL), so they run where the data is at fleet scale; Python only names the result. Every
function takes an open `Connection` and reads only; results are frozen dataclasses. Times are
aware datetimes (a naive one is an `AnalyticsError`, a `ValueError`). Money is integer fen,
shares and rates are floats in 0..1 or None (a rate of nothing).

A purchase counts with its net amount (amount - refunded), and not at all when fully refunded;
HQ records members' purchases only, so member share of sales is not computable (always None).
The definitions (windows, quintiles, segments, tier cut-offs, month boundaries) are in the
docstrings of `hq.analytics.rfm`, `.pyramid` and `.monthly`, and in docs/hq.md "Analytics".

The API (stable; the console calls these):

    rfm(conn, *, as_of: datetime, window_days: int, store_id: str | None = None,
        segment: str | None = None, limit: int | None = None, offset: int = 0) -> list[RfmRow]
    rfm_segments(conn, *, as_of, window_days, store_id=None) -> list[RfmSegment]   # all of SEGMENTS
    rfm_grid(conn, *, as_of, window_days, store_id=None) -> list[RfmCell]           # 25 (R, F) cells
    segment_of(r: int, f: int) -> str
    pyramid(conn, *, as_of, window_days, store_id=None,
            cutoffs_pct: Sequence[int] = (50, 80, 95)) -> list[PyramidTier]       # A, B, C, D
    monthly_metrics(conn, *, months: Sequence[str], tz: tzinfo = UTC,
                    store_id: str | None = None, by_store: bool = False) -> list[MonthMetrics]
    to_csv(rows: Sequence[dataclass], *, fields: Sequence[str] | None = None) -> str

    RfmRow(member_id, last_purchase_at, recency_days, frequency, monetary_fen, r, f, m, segment)
    RfmSegment(segment, members, member_share, purchases, revenue_fen, revenue_share)
    RfmCell(r, f, segment, members, revenue_fen)
    PyramidTier(tier, members, member_share, revenue_fen, revenue_share, min_revenue_fen, max_revenue_fen)
    MonthMetrics(month, store_id, members, new_members, active, active_enrolled, activation_rate,
                 prev_active, churned, churn_rate, repeat_members, repeat_rate, purchases,
                 sales_fen, member_share)

    SEGMENTS = ("champions", "loyal", "new", "promising", "needs_attention", "at_risk", "hibernating")
    TIERS = ("A", "B", "C", "D")

The RFM and pyramid window is [as_of - window_days, as_of); months are "YYYY-MM" in `tz`
(pass HQ's configured timezone). For a store: purchases at that store; members enrolled there.
"""

from hq.analytics._common import AnalyticsError
from hq.analytics.export import to_csv
from hq.analytics.monthly import MonthMetrics, monthly_metrics
from hq.analytics.pyramid import TIERS, PyramidTier, pyramid
from hq.analytics.rfm import SEGMENTS, RfmCell, RfmRow, RfmSegment, rfm, rfm_grid, rfm_segments, segment_of

__all__ = [
    "SEGMENTS",
    "TIERS",
    "AnalyticsError",
    "MonthMetrics",
    "PyramidTier",
    "RfmCell",
    "RfmRow",
    "RfmSegment",
    "monthly_metrics",
    "pyramid",
    "rfm",
    "rfm_grid",
    "rfm_segments",
    "segment_of",
    "to_csv",
]
