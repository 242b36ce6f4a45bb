"""The console's analytics page (issue #23): what it asks `hq.analytics` for, and its body.

One `Scope` (a store or the fleet, a window of days, as of now, HQ's time zone) drives the page
and the four CSV exports alike, so a download is the page's figures. The RFM segments, the 5 x 5
R/F grid and the A/B/C/D pyramid are over the window; the monthly metrics over the last 12
calendar months in HQ's zone (the current one so far). Rendering is pure (no SQL, no HTTP).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq import analytics as an
from hq.console import charts
from hq.console.html import Frame, esc, table, url, yuan
from hq.store import tables as t

WINDOWS = (90, 180, 365)
DEFAULT_WINDOW = 365
MONTHS = 12
EXPORTS: dict[str, type] = {
    "rfm": an.RfmRow,
    "segments": an.RfmSegment,
    "pyramid": an.PyramidTier,
    "monthly": an.MonthMetrics,
}


@dataclass(frozen=True)
class Scope:
    """What the figures are of: a store (None: the fleet), the window, the moment and the zone."""

    store_id: str | None
    window_days: int
    as_of: dt.datetime
    tz: dt.tzinfo

    def months(self) -> list[str]:
        """The last `MONTHS` calendar months in the zone, oldest first, ending with the current one."""
        local = self.as_of.astimezone(self.tz)
        index = local.year * 12 + local.month - 1
        return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - MONTHS + 1, index + 1)]


@dataclass(frozen=True)
class Report:
    segments: list[an.RfmSegment]
    grid: list[an.RfmCell]
    tiers: list[an.PyramidTier]
    monthly: list[an.MonthMetrics]


def window_of(text: str) -> int | None:
    """The `days` query parameter: one of WINDOWS (empty: the default), else None."""
    if not text:
        return DEFAULT_WINDOW
    return int(text) if text.isdigit() and int(text) in WINDOWS else None


def stores(conn: Connection) -> list[str]:
    """Every store HQ knows of: kiosks', members' home stores and stores with purchases."""
    found = sa.union(
        sa.select(t.devices.c.store_id.label("s")).where(t.devices.c.store_id.is_not(None)),
        sa.select(t.members.c.home_store.label("s")).where(t.members.c.home_store.is_not(None)),
        sa.select(t.purchases.c.store_id.label("s")),
    ).subquery()
    return [s for (s,) in conn.execute(sa.select(found.c.s).order_by(found.c.s))]


def report(conn: Connection, scope: Scope) -> Report:
    as_of, days, store = scope.as_of, scope.window_days, scope.store_id
    return Report(
        segments=an.rfm_segments(conn, as_of=as_of, window_days=days, store_id=store),
        grid=an.rfm_grid(conn, as_of=as_of, window_days=days, store_id=store),
        tiers=an.pyramid(conn, as_of=as_of, window_days=days, store_id=store),
        monthly=an.monthly_metrics(conn, months=scope.months(), tz=scope.tz, store_id=store),
    )


def export(conn: Connection, scope: Scope, kind: str) -> str:
    """One of EXPORTS as CSV (a header line even when there are no rows)."""
    as_of, days, store = scope.as_of, scope.window_days, scope.store_id
    rows: list[Any]
    if kind == "rfm":
        rows = an.rfm(conn, as_of=as_of, window_days=days, store_id=store)
    elif kind == "segments":
        rows = an.rfm_segments(conn, as_of=as_of, window_days=days, store_id=store)
    elif kind == "pyramid":
        rows = an.pyramid(conn, as_of=as_of, window_days=days, store_id=store)
    else:
        rows = an.monthly_metrics(conn, months=scope.months(), tz=scope.tz, store_id=store)
    return an.to_csv(rows, fields=[f.name for f in dataclasses.fields(EXPORTS[kind])])


def export_name(scope: Scope, kind: str) -> str:
    where = re.sub(r"[^A-Za-z0-9_-]", "_", scope.store_id) if scope.store_id else "fleet"
    day = scope.as_of.astimezone(scope.tz).date().isoformat()
    return f"analytics-{kind}-{where}-{scope.window_days}d-{day}.csv"


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _filters(frame: Frame, scope: Scope, known: list[str]) -> str:
    t_ = frame.t
    if frame.role == "store":
        store = f'<span class="fixed" id="store-fixed">{esc(t_("a.store_only", store=scope.store_id))}</span>'
    else:
        options = f'<option value="">{esc(t_("a.fleet"))}</option>' + "".join(
            f'<option value="{esc(s)}"{" selected" if s == scope.store_id else ""}>{esc(s)}</option>' for s in known
        )
        store = f'<label>{esc(t_("fleet.store"))} <select name="store" id="store-filter">{options}</select></label>'
    days = "".join(
        f'<option value="{d}"{" selected" if d == scope.window_days else ""}>{esc(t_("a.days", days=d))}</option>'
        for d in WINDOWS
    )
    return (
        f'<form method="get" action="/console/analytics" class="filter">{store}'
        f'<label>{esc(t_("a.window"))} <select name="days" id="window-filter">{days}</select></label>'
        f'<button id="filter">{esc(t_("fleet.filter"))}</button></form>'
    )


def _exports(frame: Frame, scope: Scope) -> str:
    store = scope.store_id if frame.role != "store" else None  # staff's store is implied
    links = "".join(
        f'<a class="export" id="export-{kind}" download '
        f'href="{esc(url(f"/console/analytics/export/{kind}.csv", store=store, days=scope.window_days))}">'
        f"{esc(frame.t('a.export.' + kind))}</a>"
        for kind in EXPORTS
    )
    return f'<p class="exports">{esc(frame.t("a.csv"))} {links}</p>'


def _segments(frame: Frame, r: Report) -> str:
    t_ = frame.t
    heads = [t_(k) for k in ("a.segment", "a.members", "a.member_share", "a.purchases", "a.revenue", "a.revenue_share")]
    rows = [
        [
            f'<span class="seg seg-{esc(s.segment)}">{esc(t_("seg." + s.segment))}</span>',
            f"{s.members:,}",
            pct(s.member_share),
            f"{s.purchases:,}",
            esc(yuan(s.revenue_fen)),
            pct(s.revenue_share),
        ]
        for s in r.segments
    ]
    return table(heads, rows, tid="segments")


def _grid(frame: Frame, r: Report) -> str:
    """Rows R 5 (recent) to 1, columns F 1 to 5 (frequent): each cell its members and revenue,
    coloured by its segment."""
    t_ = frame.t
    cells = {(c.r, c.f): c for c in r.grid}
    head = "<tr><th>" + esc(t_("a.r_f")) + "</th>" + "".join(f"<th>F{f}</th>" for f in range(1, 6)) + "</tr>"
    body = []
    for rr in range(5, 0, -1):
        tds = []
        for f in range(1, 6):
            c = cells.get((rr, f))
            if c is None:
                tds.append("<td></td>")
                continue
            tip = f"{t_('seg.' + c.segment)}: {c.members:,} · {yuan(c.revenue_fen)}"
            empty = " empty" if c.members == 0 else ""
            tds.append(
                f'<td class="seg-{esc(c.segment)}{empty}" title="{esc(tip)}" data-r="{rr}" data-f="{f}">'
                f"<b>{c.members:,}</b><small>{esc(yuan(c.revenue_fen))}</small></td>"
            )
        body.append(f"<tr><th>R{rr}</th>{''.join(tds)}</tr>")
    return f'<table class="rf" id="rf-grid"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _pyramid(frame: Frame, r: Report) -> str:
    t_ = frame.t
    captions = [
        (
            p.tier,
            p.member_share or 0.0,
            t_(
                "a.tier_caption",
                members=f"{p.members:,}",
                member_share=pct(p.member_share),
                revenue=yuan(p.revenue_fen),
                revenue_share=pct(p.revenue_share),
            ),
        )  # fmt: skip
        for p in r.tiers
    ]
    svg = charts.pyramid("pyramid-chart", t_("a.pyramid"), captions)
    heads = [t_(k) for k in ("a.tier", "a.members", "a.member_share", "a.revenue", "a.revenue_share", "a.range")]
    rows = [
        [
            f"<b>{esc(p.tier)}</b>",
            f"{p.members:,}",
            pct(p.member_share),
            esc(yuan(p.revenue_fen)),
            pct(p.revenue_share),
            "—" if p.min_revenue_fen is None else esc(f"{yuan(p.min_revenue_fen)} – {yuan(p.max_revenue_fen)}"),
        ]
        for p in r.tiers
    ]
    return svg + table(heads, rows, tid="pyramid")


def _monthly(frame: Frame, r: Report) -> str:
    t_ = frame.t
    labels = [m.month for m in r.monthly]
    charts_ = "".join(
        [
            charts.line_chart("chart-activation", t_("a.activation"), labels,
                              [m.activation_rate for m in r.monthly], pct),
            charts.line_chart("chart-churn", t_("a.churn"), labels, [m.churn_rate for m in r.monthly], pct),
            charts.line_chart("chart-repeat", t_("a.repeat"), labels, [m.repeat_rate for m in r.monthly], pct),
            charts.line_chart("chart-sales", t_("a.sales"), labels, [m.sales_fen / 100 for m in r.monthly],
                              lambda v: f"¥{v:,.0f}"),
        ]
    )  # fmt: skip
    heads = [t_(k) for k in ("a.month", "a.members", "a.new", "a.active", "a.activation", "a.churned", "a.churn",
                             "a.repeat_members", "a.repeat", "a.purchases", "a.sales")]  # fmt: skip
    rows = [
        [
            esc(m.month),
            f"{m.members:,}",
            f"{m.new_members:,}",
            f"{m.active:,}",
            pct(m.activation_rate),
            f"{m.churned:,}",
            pct(m.churn_rate),
            f"{m.repeat_members:,}",
            pct(m.repeat_rate),
            f"{m.purchases:,}",
            esc(yuan(m.sales_fen)),
        ]  # fmt: skip
        for m in r.monthly
    ]
    return f'<div class="charts">{charts_}</div>' + table(heads, rows, tid="monthly")


def body(frame: Frame, scope: Scope, known: list[str], r: Report) -> str:
    t_ = frame.t
    scored = sum(s.members for s in r.segments)
    revenue = sum(s.revenue_fen for s in r.segments)
    where = t_("a.of_store", store=scope.store_id) if scope.store_id else t_("a.of_fleet")
    start = (scope.as_of - dt.timedelta(days=scope.window_days)).astimezone(scope.tz)
    summary = t_(
        "a.summary", where=where, start=start.strftime("%Y-%m-%d %H:%M"),
        end=scope.as_of.astimezone(scope.tz).strftime("%Y-%m-%d %H:%M"), members=f"{scored:,}", revenue=yuan(revenue),
    )  # fmt: skip
    months = scope.months()
    hint = t_("a.monthly_hint", first=months[0], last=months[-1], tz=str(scope.tz))
    return (
        _filters(frame, scope, known)
        + f'<p class="summary" id="summary">{esc(summary)}</p>'
        + _exports(frame, scope)
        + f'<div class="two"><section><h2>{esc(t_("a.segments"))}</h2>{_segments(frame, r)}</section>'
        + f"<section><h2>{esc(t_('a.grid'))} <small>{esc(t_('a.grid_hint'))}</small></h2>{_grid(frame, r)}"
        + "</section></div>"
        + f"<h2>{esc(t_('a.pyramid'))} <small>{esc(t_('a.pyramid_hint'))}</small></h2>{_pyramid(frame, r)}"
        + f"<h2>{esc(t_('a.monthly'))} <small>{esc(hint)}</small></h2>"
        + _monthly(frame, r)
    )
