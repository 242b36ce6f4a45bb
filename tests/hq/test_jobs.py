"""HQ's scheduled work on both backends: points lapse by the clock, courier-style tiers move down
on re-evaluation, and both are idempotent."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import courier_program, supermarket_program
from hq.service import till
from hq.service.jobs import expire_due_lots, reevaluate_tiers
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.store import tables as t
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)


def setup(engine, program):
    with engine.begin() as conn:
        add_program(conn, program, key=Ed25519PrivateKey.generate(), topics=HqTopics("p"), now=NOW, by="t")
        enrol(conn, NewMember("M1", "王小明"), NOW)


def buy(engine, amount_fen, at, order):
    with engine.begin() as conn:
        return till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M1", amount_fen, at), at)


def tier(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.members.c.tier).where(t.members.c.member_id == "M1")).scalar_one()


def test_points_lapse_a_year_after_they_were_earned_and_only_once(engine):
    setup(engine, supermarket_program())
    buy(engine, 30_000, NOW - dt.timedelta(days=366), "old")
    buy(engine, 20_000, NOW - dt.timedelta(days=10), "new")
    assert expire_due_lots(engine, NOW) == 300
    assert expire_due_lots(engine, NOW) == 0
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(t.entries.c.kind, t.entries.c.points_delta).where(t.entries.c.kind == "expire"))
        assert kinds.all() == [("expire", -300)]


def test_a_courier_member_without_activity_in_the_window_moves_down_at_re_evaluation(engine):
    setup(engine, courier_program())
    buy(engine, 150_000, NOW - dt.timedelta(days=400), "long-ago")  # 1,500 growth: silver then
    assert tier(engine) == "silver"
    assert reevaluate_tiers(engine, NOW) == 1
    assert tier(engine) == "regular"
    assert reevaluate_tiers(engine, NOW) == 0  # idempotent


def test_recent_activity_keeps_a_courier_member_up(engine):
    setup(engine, courier_program())
    buy(engine, 150_000, NOW - dt.timedelta(days=30), "recent")
    assert reevaluate_tiers(engine, NOW) == 0 and tier(engine) == "silver"


def test_a_programme_without_downgrade_never_re_evaluates(engine):
    setup(engine, supermarket_program())
    buy(engine, 150_000, NOW - dt.timedelta(days=400), "long-ago")
    assert reevaluate_tiers(engine, NOW) == 0 and tier(engine) == "silver"
