"""HQ's member analytics (hq.analytics) against results computed by hand, on SQLite and PostgreSQL.

The data set (every time UTC, 10:00 unless written; amounts in fen):

    member  enrolled    home    purchases (id store date amount [refunded])
    A       01-10       S1      p1 S1 03-05 10000 | p3 S1 04-03 20000 | p4 S1 04-20 5000 |
                                p8 S2 05-15 8000  | p13 S1 06-28 12000
    B       02-05       S1      p5 S1 04-10 3000  | p9 S1 05-02 6000 [1000] | p18 S1 07-01 00:00 9999
    C       03-20       S2      p2 S2 03-25 5000  | p6 S2 03-31 23:00 7000 | p10 S2 05-05 2000 |
                                p11 S2 05-25 3000 | p19 S2 06-01 1000
    D       04-15       S2      p7 S2 04-28 4000 [4000: fully refunded, never counted] | p14 S2 06-10 9000
    E       05-03       S1      p12 S1 05-10 1000 | p17 S1 06-30 23:59:59 2500
    F       06-20       (none)  p15 S1 06-25 2000
    G       03-01       S2      (never buys)

All in 2026. The window for RFM and the pyramid: as_of 07-01 00:00, 90 days, so [04-02, 07-01):
p1, p2, p6 are before it, p18 at as_of is after it (the end is exclusive), p7 does not count.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hq.analytics import (
    SEGMENTS,
    AnalyticsError,
    MonthMetrics,
    PyramidTier,
    monthly_metrics,
    pyramid,
    rfm,
    rfm_grid,
    rfm_segments,
    segment_of,
    to_csv,
)
from hq.store import tables as t
from hq.store.migrations import MIGRATIONS

UTC = dt.UTC
AS_OF = dt.datetime(2026, 7, 1, tzinfo=UTC)
WINDOW = 90

MEMBERS = {  # member: (enrolled, home store)
    "A": ("01-10", "S1"),
    "B": ("02-05", "S1"),
    "C": ("03-20", "S2"),
    "D": ("04-15", "S2"),
    "E": ("05-03", "S1"),
    "F": ("06-20", None),
    "G": ("03-01", "S2"),
}
PURCHASES = [  # id, member, store, "MM-DD[ HH:MM[:SS]]", amount, refunded
    ("p1", "A", "S1", "03-05", 10000, 0),
    ("p2", "C", "S2", "03-25", 5000, 0),
    ("p3", "A", "S1", "04-03", 20000, 0),
    ("p4", "A", "S1", "04-20", 5000, 0),
    ("p5", "B", "S1", "04-10", 3000, 0),
    ("p6", "C", "S2", "03-31 23:00", 7000, 0),
    ("p7", "D", "S2", "04-28", 4000, 4000),
    ("p8", "A", "S2", "05-15", 8000, 0),
    ("p9", "B", "S1", "05-02", 6000, 1000),
    ("p10", "C", "S2", "05-05", 2000, 0),
    ("p11", "C", "S2", "05-25", 3000, 0),
    ("p12", "E", "S1", "05-10", 1000, 0),
    ("p13", "A", "S1", "06-28", 12000, 0),
    ("p14", "D", "S2", "06-10", 9000, 0),
    ("p15", "F", "S1", "06-25", 2000, 0),
    ("p17", "E", "S1", "06-30 23:59:59", 2500, 0),
    ("p18", "B", "S1", "07-01 00:00", 9999, 0),
    ("p19", "C", "S2", "06-01", 1000, 0),
]


def when(text: str) -> dt.datetime:
    day, _, clock = text.partition(" ")
    clock = clock or "10:00"
    if clock.count(":") == 1:
        clock += ":00"
    return dt.datetime.fromisoformat(f"2026-{day}T{clock}+00:00")


@pytest.fixture
def hq(engine: Engine) -> Engine:
    with engine.begin() as conn:
        for member, (enrolled, home) in MEMBERS.items():
            at = when(enrolled)
            conn.execute(
                t.members.insert().values(
                    member_id=member, name=member, home_store=home, tier="regular", created_at=at, updated_at=at
                )
            )
        for pid, member, store, at_text, amount, refunded in PURCHASES:
            at = when(at_text)
            conn.execute(
                t.purchases.insert().values(
                    purchase_id=pid, idempotency_key=pid, request_digest="0" * 64, store_id=store, till_id="T1",
                    order_no=pid, member_id=member, amount_fen=amount, paid_with="cash", at=at, points=0,
                    refunded_fen=refunded, points_reversed=0, rules_version=1, recorded_at=at,
                )
            )  # fmt: skip
    return engine


def test_rfm_scores_and_segments(hq: Engine) -> None:
    # In the window (frequency, net money, last purchase):
    #   A: p3 p4 p8 p13   4, 45000, 06-28      B: p5 p9 (6000-1000)  2, 8000, 05-02
    #   C: p10 p11 p19    3,  6000, 06-01      D: p14                1, 9000, 06-10
    #   E: p12 p17        2,  3500, 06-30 23:59:59                   F: p15  1, 2000, 06-25
    # n = 6, score = 1 + 5 * (rank - 1) // 6: ranks 1..6 give 1, 1, 2, 3, 4, 5; a tie takes its first rank.
    #   R (older first): B C D F A E                 -> B1 C1 D2 F3 A4 E5
    #   F (fewer first): D=F (rank 1), B=E (rank 3), C (5), A (6) -> D1 F1 B2 E2 C4 A5
    #   M (less first):  F E C B D A                 -> F1 E1 C2 B3 D4 A5
    # Segments (R, F): A (4,5) champions, B (1,2) hibernating, C (1,4) at_risk, D (2,1) hibernating,
    # E (5,2) promising, F (3,1) needs_attention.
    # Recency days to 07-01 00:00: A 2 (2 d 14 h), B 59, C 29, D 20, E 0 (one second), F 5.
    with hq.connect() as conn:
        rows = rfm(conn, as_of=AS_OF, window_days=WINDOW)
    got = [(r.member_id, r.recency_days, r.frequency, r.monetary_fen, r.r, r.f, r.m, r.segment) for r in rows]
    assert got == [
        ("A", 2, 4, 45000, 4, 5, 5, "champions"),
        ("B", 59, 2, 8000, 1, 2, 3, "hibernating"),
        ("C", 29, 3, 6000, 1, 4, 2, "at_risk"),
        ("D", 20, 1, 9000, 2, 1, 4, "hibernating"),
        ("E", 0, 2, 3500, 5, 2, 1, "promising"),
        ("F", 5, 1, 2000, 3, 1, 1, "needs_attention"),
    ]
    assert rows[0].last_purchase_at == when("06-28")
    assert rows[4].last_purchase_at == when("06-30 23:59:59")


def test_rfm_segment_filter_and_paging(hq: Engine) -> None:
    with hq.connect() as conn:
        assert [r.member_id for r in rfm(conn, as_of=AS_OF, window_days=WINDOW, segment="hibernating")] == ["B", "D"]
        assert [r.member_id for r in rfm(conn, as_of=AS_OF, window_days=WINDOW, limit=2, offset=3)] == ["D", "E"]
        with pytest.raises(AnalyticsError):
            rfm(conn, as_of=AS_OF, window_days=WINDOW, segment="vip")
        with pytest.raises(AnalyticsError):
            rfm(conn, as_of=AS_OF.replace(tzinfo=None), window_days=WINDOW)


def test_rfm_segment_totals_and_grid(hq: Engine) -> None:
    # Total revenue 45000 + 8000 + 6000 + 9000 + 3500 + 2000 = 73500 over 6 members.
    with hq.connect() as conn:
        segments = rfm_segments(conn, as_of=AS_OF, window_days=WINDOW)
        grid = rfm_grid(conn, as_of=AS_OF, window_days=WINDOW)
    assert [s.segment for s in segments] == list(SEGMENTS)
    got = {s.segment: (s.members, s.purchases, s.revenue_fen) for s in segments}
    assert got == {
        "champions": (1, 4, 45000),
        "loyal": (0, 0, 0),
        "new": (0, 0, 0),
        "promising": (1, 2, 3500),
        "needs_attention": (1, 1, 2000),
        "at_risk": (1, 3, 6000),
        "hibernating": (2, 3, 17000),  # B 8000 + D 9000
    }
    hibernating = segments[SEGMENTS.index("hibernating")]
    assert hibernating.member_share == pytest.approx(2 / 6)
    assert hibernating.revenue_share == pytest.approx(17000 / 73500)
    assert len(grid) == 25
    occupied = {(c.r, c.f): (c.members, c.revenue_fen) for c in grid if c.members}
    assert occupied == {(4, 5): (1, 45000), (1, 2): (1, 8000), (1, 4): (1, 6000), (2, 1): (1, 9000),
                        (5, 2): (1, 3500), (3, 1): (1, 2000)}  # fmt: skip


def test_every_rf_cell_has_the_documented_segment() -> None:
    table = {
        "champions": {(r, f) for r in (4, 5) for f in (4, 5)},
        "loyal": {(3, 3), (3, 4), (3, 5), (4, 3), (5, 3)},
        "new": {(4, 1), (5, 1)},
        "promising": {(4, 2), (5, 2)},
        "needs_attention": {(3, 1), (3, 2)},
        "at_risk": {(r, f) for r in (1, 2) for f in (3, 4, 5)},
        "hibernating": {(r, f) for r in (1, 2) for f in (1, 2)},
    }
    assert sum(len(cells) for cells in table.values()) == 25
    for name, cells in table.items():
        for r, f in cells:
            assert segment_of(r, f) == name, (r, f)


def test_pyramid_fleet(hq: Engine) -> None:
    # Revenue, highest first: A 45000, D 9000, B 8000, C 6000, E 3500, F 2000; T = 73500.
    # Revenue ranked above each (`before`) and its share of T:
    #   A 0 (0 %) -> A;  D 45000 (61.2 %) -> B;  B 54000 (73.5 %) -> B;
    #   C 62000 (84.4 %) -> C;  E 68000 (92.5 %) -> C;  F 71500 (97.3 %) -> D.
    with hq.connect() as conn:
        tiers = pyramid(conn, as_of=AS_OF, window_days=WINDOW)
    assert tiers == [
        PyramidTier("A", 1, 1 / 6, 45000, 45000 / 73500, 45000, 45000),
        PyramidTier("B", 2, 2 / 6, 17000, 17000 / 73500, 8000, 9000),
        PyramidTier("C", 2, 2 / 6, 9500, 9500 / 73500, 3500, 6000),
        PyramidTier("D", 1, 1 / 6, 2000, 2000 / 73500, 2000, 2000),
    ]


def test_pyramid_at_one_store_and_other_cutoffs(hq: Engine) -> None:
    # At S2 in the window: A p8 8000, C p10+p11+p19 6000, D p14 9000; T = 23000.
    #   D before 0 -> A;  A before 9000 (39.1 %) -> A;  C before 17000 (73.9 %) -> B.
    # With cut-offs 30/60/90 %: D -> A, A (39.1 %) -> B, C (73.9 %) -> C.
    with hq.connect() as conn:
        tiers = pyramid(conn, as_of=AS_OF, window_days=WINDOW, store_id="S2")
        other = pyramid(conn, as_of=AS_OF, window_days=WINDOW, store_id="S2", cutoffs_pct=(30, 60, 90))
        with pytest.raises(AnalyticsError):
            pyramid(conn, as_of=AS_OF, window_days=WINDOW, cutoffs_pct=(80, 50, 95))
    summary = [(x.tier, x.members, x.revenue_fen) for x in tiers]
    assert summary == [("A", 2, 17000), ("B", 1, 6000), ("C", 0, 0), ("D", 0, 0)]
    assert tiers[2].min_revenue_fen is None and tiers[2].revenue_share == 0.0
    summary = [(x.tier, x.members, x.revenue_fen) for x in other]
    assert summary == [("A", 1, 9000), ("B", 1, 8000), ("C", 1, 6000), ("D", 0, 0)]


def fields(m: MonthMetrics) -> tuple:
    return (m.month, m.members, m.new_members, m.active, m.active_enrolled, m.prev_active, m.churned,
            m.repeat_members, m.purchases, m.sales_fen)  # fmt: skip


def test_monthly_metrics_fleet(hq: Engine) -> None:
    # Counted purchases per month (UTC):
    #   03: p1 A, p2 C, p6 C (03-31 23:00)                       active {A, C}
    #   04: p3 A, p4 A, p5 B (p7 fully refunded)                 active {A, B}, A twice; sales 28000
    #   05: p8 A, p9 B (5000 net), p10 C, p11 C, p12 E           active {A, B, C, E}, C twice; 19000
    #   06: p13 A, p14 D, p15 F, p17 E, p19 C                    active {A, C, D, E, F}; 26500
    # Enrolled by the month's end: 03: A B C G = 4; 04: +D = 5; 05: +E = 6; 06: +F = 7.
    # Churned: 04: C (of {A, C}) 1/2; 05: none of {A, B} 0/2; 06: B (of {A, B, C, E}) 1/4.
    with hq.connect() as conn:
        months = monthly_metrics(conn, months=["2026-06", "2026-04", "2026-05"])
    assert [fields(m) for m in months] == [
        ("2026-04", 5, 1, 2, 2, 2, 1, 1, 3, 28000),
        ("2026-05", 6, 1, 4, 4, 2, 0, 1, 5, 19000),
        ("2026-06", 7, 1, 5, 5, 4, 1, 0, 5, 26500),
    ]
    april, may, june = months
    assert (april.activation_rate, april.churn_rate, april.repeat_rate) == (2 / 5, 1 / 2, 1 / 2)
    assert (may.activation_rate, may.churn_rate, may.repeat_rate) == (4 / 6, 0.0, 1 / 4)
    assert (june.activation_rate, june.churn_rate, june.repeat_rate) == (5 / 7, 1 / 4, 0.0)
    assert all(m.store_id is None and m.member_share is None for m in months)


def test_monthly_metrics_by_store(hq: Engine) -> None:
    # S1 (enrolled there: A 01, B 02, E 05; purchases there: 03 p1 A | 04 p3 p4 A, p5 B |
    #   05 p9 B, p12 E | 06 p13 A, p15 F, p17 E):
    #   04: members 2, active {A, B}, both enrolled at S1; prev {A}: churned 0; repeat A; 28000
    #   05: members 3 (E new), active {B, E}; prev {A, B}: A churned; 6000
    #   06: members 3, active {A, E, F}, F enrolled nowhere -> active_enrolled 2; prev {B, E}: B churned; 16500
    # S2 (enrolled: G 03-01, C 03-20, D 04-15; purchases: 03 p2 p6 C | 04 none (p7 refunded) |
    #   05 p8 A, p10 p11 C | 06 p14 D, p19 C):
    #   04: members 3 (D new), active 0; prev {C}: churned 1 (rate 1.0); repeat rate None (no one active)
    #   05: active {A, C}, A enrolled at S1 -> active_enrolled 1; prev {}: churn rate None; C twice; 13000
    #   06: active {C, D}; prev {A, C}: A churned; 10000
    months = ["2026-04", "2026-05", "2026-06"]
    with hq.connect() as conn:
        rows = monthly_metrics(conn, months=months, by_store=True)
        s2 = monthly_metrics(conn, months=months, store_id="S2")
    got = [(m.store_id, *fields(m)) for m in rows]
    assert got == [
        ("S1", "2026-04", 2, 0, 2, 2, 1, 0, 1, 3, 28000),
        ("S1", "2026-05", 3, 1, 2, 2, 2, 1, 0, 2, 6000),
        ("S1", "2026-06", 3, 0, 3, 2, 2, 1, 0, 3, 16500),
        ("S2", "2026-04", 3, 1, 0, 0, 1, 1, 0, 0, 0),
        ("S2", "2026-05", 3, 0, 2, 1, 0, 0, 1, 3, 13000),
        ("S2", "2026-06", 3, 0, 2, 2, 2, 1, 0, 2, 10000),
    ]
    assert s2 == rows[3:]
    s2_april, s2_may, _ = s2
    assert (s2_april.activation_rate, s2_april.churn_rate, s2_april.repeat_rate) == (0.0, 1.0, None)
    assert (s2_may.activation_rate, s2_may.churn_rate, s2_may.repeat_rate) == (1 / 3, None, 1 / 2)
    assert rows[2].activation_rate == 2 / 3


def test_monthly_metrics_in_hq_timezone(hq: Engine) -> None:
    # Asia/Shanghai is UTC+8: p6 (03-31 23:00Z) is 04-01 07:00 there, p17 (06-30 23:59:59Z) July.
    #   04: p6 C, p3 A, p4 A, p5 B -> active {A, B, C}, 4 purchases, 35000; 03 was {A, C}: none churned
    #   06: p13 A, p14 D, p15 F, p19 C -> {A, C, D, F}, 24000; 05 was {A, B, C, E}: B and E churned
    with hq.connect() as conn:
        april, june = monthly_metrics(conn, months=["2026-04", "2026-06"], tz=ZoneInfo("Asia/Shanghai"))
    assert (april.active, april.purchases, april.sales_fen, april.churned, april.prev_active) == (3, 4, 35000, 0, 2)
    assert (june.active, june.purchases, june.sales_fen, june.churned, june.prev_active) == (4, 4, 24000, 2, 4)
    assert june.members == 7  # F enrolled 06-20 10:00Z


def test_bad_months_are_refused(hq: Engine) -> None:
    with hq.connect() as conn:
        for bad in ("2026-13", "2026-4", "26-04", "April"):
            with pytest.raises(AnalyticsError):
                monthly_metrics(conn, months=[bad])
        assert monthly_metrics(conn, months=[]) == []
        assert len(monthly_metrics(conn, months=["2020-01", "2026-06"])) == 2  # 78 months read, two returned


def test_csv_export(hq: Engine) -> None:
    with hq.connect() as conn:
        tiers = pyramid(conn, as_of=AS_OF, window_days=WINDOW, store_id="S2")
        rows = rfm(conn, as_of=AS_OF, window_days=WINDOW, limit=1)
    assert to_csv(tiers).splitlines() == [
        "tier,members,member_share,revenue_fen,revenue_share,min_revenue_fen,max_revenue_fen",
        "A,2,0.666667,17000,0.739130,8000,9000",
        "B,1,0.333333,6000,0.260870,6000,6000",
        "C,0,0.000000,0,0.000000,,",
        "D,0,0.000000,0,0.000000,,",
    ]
    assert to_csv(rows, fields=["member_id", "last_purchase_at", "segment"]) == (
        "member_id,last_purchase_at,segment\r\nA,2026-06-28T10:00:00+00:00,champions\r\n"
    )
    assert to_csv([], fields=["tier"]) == "tier\r\n"
    assert to_csv([]) == ""


def test_purchases_are_all_members_so_member_share_is_unknown(hq: Engine) -> None:
    # Why member_share is None: HQ's purchases table cannot hold a non-member sale.
    assert t.purchases.c.member_id.nullable is False
    with hq.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.purchases)).scalar() == len(PURCHASES)


def test_migration_9_adds_the_analytics_index_to_a_version_8_database(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX purchases_member_time"))
    (step,) = [m for m in MIGRATIONS if m.version == 9]
    for _ in range(2):  # the second time: a database the initial step created with the index
        with engine.begin() as conn:
            step.apply(conn)
    with engine.connect() as conn:
        names = {index["name"] for index in sa.inspect(conn).get_indexes("purchases")}
    assert "purchases_member_time" in names


def test_planner_settings_are_put_back_for_the_callers_next_statements(hq: Engine) -> None:
    # On PostgreSQL the per-member queries plan with their own settings (hq.analytics._common);
    # the caller's transaction has its own again afterwards. SQLite has no such settings.
    with hq.connect() as conn:
        rfm_segments(conn, as_of=AS_OF, window_days=WINDOW)
        pyramid(conn, as_of=AS_OF, window_days=WINDOW)
        if hq.dialect.name == "postgresql":
            for name in ("jit", "enable_hashagg", "enable_seqscan", "parallel_tuple_cost"):
                now = conn.execute(sa.text(f"SHOW {name}")).scalar_one()
                default = conn.execute(sa.text(f"SELECT reset_val FROM pg_settings WHERE name = '{name}'")).scalar_one()
                assert now == default or name == "parallel_tuple_cost" and float(now) == float(default), name
