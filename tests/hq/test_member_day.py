"""Member day (会员日) at HQ, on SQLite and PostgreSQL: a till's purchase on one of the rules'
member days earns at the tier multiplier times the member-day multiplier, recorded in its entry;
the day is the purchase's in the till's offset; a refund reverses what the purchase earned.

The supermarket programme's member day: Wednesdays and the 8th, 18th and 28th, points x2.
2026-12-02 is a Wednesday, 2026-12-01 a Tuesday."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.store import tables as t
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY = dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
TUESDAY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=HqTopics("acme/kiosk"), now=TUESDAY, by="test")
        enrol(conn, NewMember("M1", "王小明"), TUESDAY)
    return engine


def buy(engine, amount_fen: int, at: dt.datetime, order: str = "O1") -> till.PurchaseResult:
    with engine.begin() as conn:
        return till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M1", amount_fen, at), at)


def refund(engine, purchase_id: str, amount_fen: int, key: str) -> dict:
    with engine.begin() as conn:
        return till.refund(conn, till.Refund(key, purchase_id, amount_fen, WEDNESDAY), WEDNESDAY)


def live_points(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.lots.c.points_left), 0))).scalar_one())


def earn_detail(engine) -> dict:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.entries.c.detail).where(t.entries.c.kind == "earn")).scalar_one()


def test_a_purchase_on_member_day_earns_double_and_its_entry_says_why(hq):
    result = buy(hq, 12_345, WEDNESDAY)  # 123.45 yuan x1 (regular) x2
    assert (result.points, live_points(hq)) == (246, 246)
    assert earn_detail(hq) == {"multiplier": "1", "tier": "regular", "paid_with": "cash", "member_day": "2"}


def test_a_purchase_the_day_before_earns_the_tiers_points_only(hq):
    result = buy(hq, 12_345, TUESDAY)
    assert (result.points, live_points(hq)) == (123, 123)
    assert "member_day" not in earn_detail(hq)


def test_a_day_of_the_month_in_the_rules_is_member_day_too(hq):
    assert buy(hq, 10_000, dt.datetime(2026, 12, 8, 10, 0, tzinfo=TZ)).points == 200  # a Tuesday, the 8th


def test_member_day_is_the_purchases_day_in_the_tills_offset(hq):
    # 00:30 on Wednesday in the store, reported with the store's offset; the same instant reported
    # in UTC would be Tuesday 16:30 (docs/hq.md: tills report with their store's offset).
    assert buy(hq, 10_000, dt.datetime(2026, 12, 2, 0, 30, tzinfo=TZ)).points == 200
    assert buy(hq, 10_000, dt.datetime(2026, 12, 2, 0, 30, tzinfo=TZ).astimezone(dt.UTC), "O2").points == 100


def test_member_day_multiplies_the_tiers_multiplier(hq):
    with hq.begin() as conn:
        conn.execute(t.members.update().values(tier="silver"))  # x1.5
    assert buy(hq, 10_000, WEDNESDAY).points == 300
    assert earn_detail(hq)["multiplier"] == "1.5"


def test_a_full_refund_of_a_member_day_purchase_takes_back_everything_it_earned(hq):
    purchase = buy(hq, 12_345, WEDNESDAY)
    assert refund(hq, purchase.purchase_id, 12_345, "r1")["points_reversed"] == 246
    assert live_points(hq) == 0


def test_a_partial_refund_of_a_member_day_purchase_reverses_its_share_of_the_doubled_points(hq):
    purchase = buy(hq, 10_000, WEDNESDAY)  # 200 points
    assert refund(hq, purchase.purchase_id, 2_500, "r1")["points_reversed"] == 50
    assert live_points(hq) == 150
