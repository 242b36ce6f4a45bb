"""The console's analytics page (issue #23) in a real browser: Debian's chromium, headless, driven by
Playwright (the fixtures of tests/hq/test_console_pages.py), against HQ's real app on SQLite with
purchases recorded through HQ's till use case (hq.service.till). The figures shown must be
`hq.analytics`'s for the same filters; the CSV exports are attachments with its header; store
staff see their own store's analytics only. The screenshot goes to out/console/ (the README's is
copied from there with KIOSK_UPDATE_SCREENSHOTS=1).

The data set (Asia/Shanghai, noon; HQ's clock stands at 2026-12-03 10:00):

    member  home  enrolled    purchases (store date yuan)
    A       S01   2026-01-10  S01 09-10 300 | S01 11-05 200 | S01 11-20 500 | S01 12-01 100
    B       S01   2026-03-01  S01 06-15 80  | S01 10-02 120
    C       S02   2026-02-01  S02 08-08 1000 | S02 11-11 400 | S02 11-12 50
    D       S02   2026-10-20  S02 10-25 60
    E       S01   2026-05-05  S01 05-06 30  | S02 07-07 45
    F       S02   2025-12-20  S02 2025-12-21 70 | S02 01-15 90
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from hq import analytics
from hq.api.app import create_app
from hq.console.analytics import Scope, pct
from hq.console.html import yuan
from hq.domain.examples import supermarket_program
from hq.service import operators, till
from hq.service.listener_store import SqlListenerStore
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.service.vouchers import token_digest
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from sync.topics import HqTopics
from tests.hq import test_console_pages as console
from tests.hq.test_api import serving

pytestmark = pytest.mark.integration
browser = console.browser
login = console.login
NOW, TZ = console.NOW, console.TZ

MEMBERS = {  # member: (name, home store, enrolled)
    "A": ("王小明", "S01", "2026-01-10"),
    "B": ("李娜", "S01", "2026-03-01"),
    "C": ("张伟", "S02", "2026-02-01"),
    "D": ("刘洋", "S02", "2026-10-20"),
    "E": ("陈静", "S01", "2026-05-05"),
    "F": ("杨帆", "S02", "2025-12-20"),
}
PURCHASES = [  # member, store, date, yuan
    ("A", "S01", "2026-09-10", 300), ("A", "S01", "2026-11-05", 200), ("A", "S01", "2026-11-20", 500),
    ("A", "S01", "2026-12-01", 100), ("B", "S01", "2026-06-15", 80), ("B", "S01", "2026-10-02", 120),
    ("C", "S02", "2026-08-08", 1000), ("C", "S02", "2026-11-11", 400), ("C", "S02", "2026-11-12", 50),
    ("D", "S02", "2026-10-25", 60), ("E", "S01", "2026-05-06", 30), ("E", "S02", "2026-07-07", 45),
    ("F", "S02", "2025-12-21", 70), ("F", "S02", "2026-01-15", 90),
]  # fmt: skip


def noon(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[console.Hq]:
    engine = open_engine(sqlite_url(tmp_path_factory.mktemp("analytics") / "hq.sqlite"))
    migrate(engine)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=console.HQ_KEY, topics=HqTopics("acme"), now=noon("2025-12-01"),
                    by="seed")  # fmt: skip
        for member, (name, home, enrolled) in MEMBERS.items():
            enrol(conn, NewMember(member, name, home_store=home), noon(enrolled))
        for i, (member, store, day, amount) in enumerate(PURCHASES):
            at = noon(day)
            till.record_purchase(conn, till.Purchase(f"k-{i}", store, "T1", f"O-{i}", member, amount * 100, at), at)
        roles = {"ada": ("admin", None), "anna": ("store", "S01"), "vera": ("viewer", None)}
        for name, (role, store_id) in roles.items():
            operators.add_operator(conn, name, role, store_id, token_digest(console.TOKENS[name]), NOW)
    app = create_app(engine, clock=console.FixedClock(), signing_key=console.HQ_KEY, topics=HqTopics("acme"),
                     operator_token=console.BOOTSTRAP)  # fmt: skip
    with serving(app) as url:
        yield console.Hq(url, engine, SqlListenerStore(engine, apply_event))
    engine.dispose()


def expected(engine: sa.Engine, store: str | None, days: int) -> tuple[Scope, analytics.MonthMetrics, list[str]]:
    """The scope the page should use, November's metrics and the segments' member counts."""
    scope = Scope(store, days, NOW, TZ)
    with engine.connect() as conn:
        months = analytics.monthly_metrics(conn, months=scope.months(), tz=TZ, store_id=store)
        segments = analytics.rfm_segments(conn, as_of=NOW, window_days=days, store_id=store)
    (november,) = [m for m in months if m.month == "2026-11"]
    return scope, november, [f"{s.members:,}" for s in segments]


def test_the_figures_are_the_analytics_modules_and_the_filters_apply(login, hq: console.Hq):
    page = login("ada")
    page.locator("#nav-analytics").click()
    expect(page.locator("h1")).to_have_text("Member analytics")
    # Fleet, 365 days: every member bought in [2025-12-03 10:00, 2026-12-03 10:00).
    expect(page.locator("#summary")).to_contain_text("6 members with purchases, ¥3,045.00 of sales")
    scope, november, members = expected(hq.engine, None, 365)
    assert scope.months()[0] == "2026-01" and scope.months()[-1] == "2026-12"
    expect(page.locator("#segments tbody tr td:nth-child(2)")).to_have_text(members)
    with hq.engine.connect() as conn:
        segments = analytics.rfm_segments(conn, as_of=NOW, window_days=365)
        tiers = analytics.pyramid(conn, as_of=NOW, window_days=365)
        grid = analytics.rfm_grid(conn, as_of=NOW, window_days=365)
    expect(page.locator("#segments tbody tr td:nth-child(6)")).to_have_text([pct(s.revenue_share) for s in segments])
    expect(page.locator("#pyramid tbody tr td:nth-child(2)")).to_have_text([f"{p.members:,}" for p in tiers])
    expect(page.locator("#pyramid tbody tr td:nth-child(5)")).to_have_text([pct(p.revenue_share) for p in tiers])
    expect(page.locator("#pyramid-chart rect")).to_have_count(4)
    for cell in grid:
        expect(page.locator(f'#rf-grid td[data-r="{cell.r}"][data-f="{cell.f}"] b')).to_have_text(str(cell.members))
    # November: A (2) and C (2) bought twice each, ¥200 + ¥500 + ¥400 + ¥50.
    row = page.locator("#monthly tbody tr", has_text="2026-11").locator("td")
    assert november.sales_fen == 115_000 and november.repeat_rate == 1.0
    expect(row.nth(10)).to_have_text(yuan(november.sales_fen))
    expect(row.nth(8)).to_have_text("100.0%")
    expect(row.nth(4)).to_have_text(pct(november.activation_rate))
    expect(page.locator("#monthly tbody tr")).to_have_count(12)
    for chart in ("activation", "churn", "repeat", "sales"):
        expect(page.locator(f"#chart-{chart} circle")).not_to_have_count(0)
    console.publish(console.shoot(page, "analytics-en", full=True), "console-analytics-en.png")

    # Store S02, 90 days: the window [2026-09-04 10:00, ...): C (2 purchases) and D.
    page.select_option("#store-filter", "S02")
    page.select_option("#window-filter", "90")
    page.locator("#filter").click()
    expect(page.locator("#summary")).to_contain_text("Store S02")
    expect(page.locator("#summary")).to_contain_text("2 members with purchases, ¥510.00 of sales")
    _, november, members = expected(hq.engine, "S02", 90)
    expect(page.locator("#segments tbody tr td:nth-child(2)")).to_have_text(members)
    expect(page.locator("#monthly tbody tr", has_text="2026-11").locator("td").nth(10)).to_have_text(
        yuan(november.sales_fen)
    )

    # The page's CSV link: an attachment with hq.analytics's header, a line per scored member.
    with page.expect_download() as info:
        page.locator("#export-rfm").click()
    download = info.value
    assert download.suggested_filename == "analytics-rfm-S02-90d-2026-12-03.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0] == [f.name for f in dataclasses.fields(analytics.RfmRow)]
    assert sorted(r[0] for r in rows[1:]) == ["C", "D"]
    monthly = page.request.get(f"{hq.url}/console/analytics/export/monthly.csv?store=S02&days=90")
    assert monthly.status == 200 and monthly.headers["content-disposition"].startswith("attachment;")
    assert monthly.headers["content-type"].startswith("text/csv")
    lines = monthly.text().splitlines()
    assert lines[0].startswith("month,store_id,members,") and len(lines) == 1 + 12
    assert page.request.get(f"{hq.url}/console/analytics/export/other.csv").status == 404
    assert page.request.get(f"{hq.url}/console/analytics?days=7").status == 400


def test_store_staff_see_their_store_only_and_a_viewer_reads_in_chinese(login, hq: console.Hq):
    page = login("anna")
    page.goto(f"{hq.url}/console/analytics")
    expect(page.locator("#store-fixed")).to_have_text("Store S01")
    expect(page.locator("#store-filter")).to_have_count(0)
    # S01, 365 days: A, B and E bought there (E's S02 purchase is S02's).
    expect(page.locator("#summary")).to_contain_text("3 members with purchases, ¥1,330.00 of sales")
    _, _, members = expected(hq.engine, "S01", 365)
    expect(page.locator("#segments tbody tr td:nth-child(2)")).to_have_text(members)
    answer = page.goto(f"{hq.url}/console/analytics?store=S02")
    assert answer is not None and answer.status == 403
    expect(page.locator(".notice.bad")).to_contain_text("their store's analytics only (S01)")
    assert page.request.get(f"{hq.url}/console/analytics/export/rfm.csv?store=S02").status == 403
    mine = page.request.get(f"{hq.url}/console/analytics/export/rfm.csv")
    assert sorted(line.split(",")[0] for line in mine.text().splitlines()[1:]) == ["A", "B", "E"]

    viewer = login("vera", locale="zh-CN")
    viewer.goto(f"{hq.url}/console/analytics?store=S01&days=180")
    expect(viewer.locator("h1")).to_have_text("会员分析")
    expect(viewer.locator("#summary")).to_contain_text("门店 S01")
    expect(viewer.locator("#segments tbody tr").first).to_contain_text("重要价值")
    expect(viewer.locator("#monthly thead")).to_contain_text("复购率")
