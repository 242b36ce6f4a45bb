"""HQ as the authority, on SQLite and PostgreSQL: tills' purchases, refunds and top-ups, kiosks'
redemptions reconciled, and the signed member update that carries it all back to a kiosk."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.errors import DuplicateOrder, IdempotencyConflict, Refused
from hq.service.feedback import prepare_member_update
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.service.publications import unsent
from hq.service.reconcile import apply_event
from hq.store import tables as t
from sync.schemas import EventMessage
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        add_card(conn, "M1", "DE700001", 1, NOW)
    return engine


def buy(engine, amount_fen, *, key=None, order=None, paid_with="cash", member="M1", at=NOW):
    order = order or f"O{amount_fen}-{key or ''}"
    request = till.Purchase(key or f"k-{order}", "S01", "T1", order, member, amount_fen, at, paid_with)
    with engine.begin() as conn:
        return till.record_purchase(conn, request, at)


def member(engine, member_id="M1"):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.members).where(t.members.c.member_id == member_id)).one()


def live_points(engine, member_id="M1"):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(t.lots.c.points_left), 0)).where(t.lots.c.member_id == member_id)
        ).scalar_one()


def alarms(engine):
    with engine.connect() as conn:
        return [(r.kind, r.subject) for r in conn.execute(sa.select(t.alarms).where(t.alarms.c.cleared_at.is_(None)))]


# --- purchases ---------------------------------------------------------------------------------


def test_a_purchase_earns_points_at_the_rate_times_the_tier_multiplier_into_a_dated_lot(hq):
    result = buy(hq, 12_345)  # 123.45 yuan at x1 (regular)
    assert (result.points, result.rules_version) == (123, 1)
    with hq.connect() as conn:
        lot = conn.execute(sa.select(t.lots)).one()
    assert lot.points_left == 123 and lot.expires_at == (NOW + dt.timedelta(days=365)).astimezone(dt.UTC)


def test_crossing_a_threshold_moves_the_tier_up_at_once_and_the_next_purchase_earns_more(hq):
    assert buy(hq, 100_000).tier == "silver"  # 1,000 yuan: the silver threshold
    assert buy(hq, 10_000).points == 150  # 100 yuan at x1.5
    with hq.connect() as conn:
        changes = conn.execute(sa.select(t.entries.c.detail).where(t.entries.c.kind == "tier_change")).scalars().all()
    assert changes == [{"from": "regular", "to": "silver", "reason": "upgrade", "measure": 100_000}]


def test_a_retried_purchase_returns_the_first_answer_and_counts_once(hq):
    first = buy(hq, 5_000, key="till-1-0001")
    again = buy(hq, 5_000, key="till-1-0001")
    assert again.replayed and again.points == first.points
    assert member(hq).spend_fen == 5_000 and live_points(hq) == 50


def test_an_idempotency_key_reused_for_another_purchase_is_refused(hq):
    buy(hq, 5_000, key="till-1-0002", order="A")
    with pytest.raises(IdempotencyConflict):
        buy(hq, 6_000, key="till-1-0002", order="A")


def test_the_same_order_reported_under_a_new_key_is_refused(hq):
    buy(hq, 5_000, key="k1", order="A-1")
    with pytest.raises(DuplicateOrder):
        buy(hq, 5_000, key="k2", order="A-1")


def test_partial_refunds_reverse_points_proportionally_and_a_full_refund_exactly(hq):
    purchase = buy(hq, 10_001)  # 100 points
    with hq.begin() as conn:
        first = till.refund(conn, till.Refund("r1", purchase.purchase_id, 3_333, NOW), NOW)
    with hq.begin() as conn:
        second = till.refund(conn, till.Refund("r2", purchase.purchase_id, 6_668, NOW), NOW)
    assert first["points_reversed"] + second["points_reversed"] == 100
    assert live_points(hq) == 0 and member(hq).spend_fen == 0


def test_a_topup_adds_the_programmes_bonus(hq):
    with hq.begin() as conn:
        result = till.topup(conn, till.Topup("t1", "S01", "T1", "M1", 50_000, NOW), NOW)  # pay 500
    assert result["bonus_fen"] == 20_000 and member(hq).balance_fen == 70_000  # get 700


def test_on_the_day_of_a_topup_only_part_of_it_may_be_spent(hq):
    with hq.begin() as conn:
        till.topup(conn, till.Topup("t1", "S01", "T1", "M1", 50_000, NOW), NOW)
    with pytest.raises(Refused) as refused:
        buy(hq, 50_000, paid_with="stored_value")  # 60% of 70,000 = 42,000 today
    assert refused.value.code == "first_day_limit"
    buy(hq, 42_000, paid_with="stored_value")
    assert member(hq).balance_fen == 28_000


# --- kiosk redemptions -------------------------------------------------------------------------


def redemption(seq, points, *, device="K001", counter=None, voucher=None, offline=False, at=NOW):
    payload = {
        "member_id": "M1",
        "points": points,
        "voucher_id": voucher or f"{device}-{seq}",
        "reward_id": "off-10",
        "expires_at": (at + dt.timedelta(days=30)).isoformat(),
        "card_uid": "de700001",
        "card_counter": counter,
        "rules_version": 1,
    }
    return EventMessage(device, seq, f"e-{device}-{seq}", "redemption", at, offline, False, payload)


def reconcile(engine, event):
    with engine.begin() as conn:
        return apply_event(conn, event, NOW)


def test_a_redemption_debits_the_oldest_lot_first(hq):
    buy(hq, 50_000, order="old", at=NOW - dt.timedelta(days=300))  # 500 points, expiring first
    buy(hq, 50_000, order="new")
    assert reconcile(hq, redemption(1, 600, counter=1)) == "applied"
    with hq.connect() as conn:
        left = dict(conn.execute(sa.select(t.lots.c.source, t.lots.c.points_left)).all())
    assert left == {"P-S01-old": 0, "P-S01-new": 400}


def test_two_offline_redemptions_against_the_same_points_are_kept_as_an_overdraft(hq):
    buy(hq, 100_000)  # 1,000 points
    assert reconcile(hq, redemption(1, 800, device="K001", offline=True, counter=1)) == "applied"
    assert reconcile(hq, redemption(1, 800, device="K002", offline=True, counter=2)) == "overdraft"
    assert live_points(hq) == 0 and member(hq).overdraft_points == 600
    assert ("overdraft", "M1") in alarms(hq)
    with hq.connect() as conn:
        assert len(conn.execute(sa.select(t.vouchers)).all()) == 2  # both vouchers stand


def test_later_earnings_repay_an_overdraft_first(hq):
    reconcile(hq, redemption(1, 300, offline=True, counter=1))
    assert member(hq).overdraft_points == 300
    buy(hq, 50_000)  # 500 points
    assert (member(hq).overdraft_points, live_points(hq)) == (0, 200)


def test_the_card_counter_follows_redemptions_and_a_reused_counter_raises_an_alarm(hq):
    buy(hq, 100_000)
    reconcile(hq, redemption(1, 100, counter=5))
    reconcile(hq, redemption(1, 100, device="K002", counter=5))
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.cards.c.last_counter)).scalar_one() == 5
    assert ("counter_reuse", "de700001") in alarms(hq)


# --- feedback to the kiosks --------------------------------------------------------------------


def test_a_member_update_carries_points_counter_and_the_folded_kiosk_event(hq):
    from hq.service.listener_store import SqlListenerStore
    from sync.envelope import EnvelopeVerifier
    from sync.topics import Scope

    buy(hq, 100_000)
    SqlListenerStore(hq, apply_event).record_events([redemption(1, 400, counter=3)], NOW)
    with hq.begin() as conn:
        prepared = prepare_member_update(conn, KEY, TOPICS, NOW)
    assert prepared is not None and prepared.members == 1
    with hq.begin() as conn:
        publications = unsent(conn)
    update = publications[-1]
    verifier = EnvelopeVerifier([KEY.public_key()], device_id="K001", store_id="S01")
    push = verifier.verify(update.payload, expected_type="members_update", topic_scope=Scope.fleet(), now=NOW)
    (entry,) = push.payload["members"]
    assert sum(lot["points"] for lot in entry["lots"]) == 600
    assert entry["cards"][0]["last_counter"] == 3 and entry["tier_floor"] == "silver"
    assert push.payload["acknowledged_event_ids"] == ["e-K001-1"]
    with hq.begin() as conn:
        assert prepare_member_update(conn, KEY, TOPICS, NOW) is None  # nothing new
