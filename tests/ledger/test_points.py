"""Points: live lots by the clock, FIFO spending across lots, every upcoming expiry shown."""

from __future__ import annotations

import datetime as dt

from kiosk.ledger.points import expiry_text
from kiosk.model import PointExpiry
from tests.ledger.conftest import DAY, SECOND, T0, TZ, lot, with_member

EXPIRY = dt.datetime(2026, 3, 10, 0, 0, 0, tzinfo=TZ)


def test_lot_counts_until_the_second_before_expiry(ledger, clock):
    member_id = with_member(ledger, lots=[lot("A", 300, EXPIRY)])
    clock.current = EXPIRY - SECOND
    assert ledger.member_view(member_id).points == 300


def test_lot_is_gone_at_its_expiry_instant(ledger, clock):
    member_id = with_member(ledger, lots=[lot("A", 300, EXPIRY)])
    clock.current = EXPIRY
    assert ledger.member_view(member_id).points == 0


def test_lot_is_gone_the_second_after_expiry_without_any_batch_job(ledger, clock):
    member_id = with_member(ledger, lots=[lot("A", 300, EXPIRY), lot("B", 50, EXPIRY + 30 * DAY)])
    clock.current = EXPIRY + SECOND
    view = ledger.member_view(member_id)
    assert view.points == 50 and [e.points for e in view.expiries] == [50]


def test_spending_takes_the_oldest_lots_first_across_several_expiries(ledger):
    member_id = with_member(
        ledger,
        lots=[
            lot("late", 1000, T0 + 300 * DAY),
            lot("early", 300, T0 + 10 * DAY),
            lot("middle", 400, T0 + 100 * DAY),
        ],
    )
    ledger.redeem("i1", member_id, "off-5", online=True)  # 500 points
    spends = ledger.conn.execute("SELECT lot_id, points FROM spends ORDER BY part").fetchall()
    assert spends == [("early", 300), ("middle", 200)]
    view = ledger.member_view(member_id)
    assert [(e.points, e.expires_at) for e in view.expiries] == [(200, T0 + 100 * DAY), (1000, T0 + 300 * DAY)]


def test_points_spent_from_a_lot_before_it_expires_stay_spent(ledger, clock):
    member_id = with_member(ledger, lots=[lot("early", 600, T0 + 10 * DAY), lot("late", 1000, T0 + 300 * DAY)])
    ledger.redeem("i1", member_id, "off-5", online=True)  # 500 from "early"
    clock.current = T0 + 11 * DAY  # the 100 left of "early" lapse; "late" is untouched
    assert ledger.member_view(member_id).points == 1000


def test_member_sees_every_upcoming_expiry_not_only_the_earliest(ledger):
    member_id = with_member(
        ledger,
        lots=[
            lot("a", 300, EXPIRY),
            lot("b", 200, EXPIRY + 31 * DAY),
            lot("c", 100, EXPIRY + 31 * DAY),
            lot("d", 50, EXPIRY + 90 * DAY),
        ],
    )
    expiries = ledger.member_view(member_id).expiries
    assert [(e.points, e.expires_at) for e in expiries] == [
        (300, EXPIRY),
        (300, EXPIRY + 31 * DAY),
        (50, EXPIRY + 90 * DAY),
    ]


def test_expiry_text_in_both_locales():
    expiry = PointExpiry(300, dt.datetime(2027, 1, 31, 12, tzinfo=TZ))
    assert expiry_text(expiry, "en") == "300 points expire on 2027-01-31"
    assert expiry_text(expiry, "zh_CN") == "300积分将于2027-01-31过期"


def test_points_held_equals_sum_of_live_lots(ledger):
    member_id = with_member(ledger, lots=[lot("a", 700, T0 + 5 * DAY), lot("b", 900, T0 + 50 * DAY)])
    ledger.redeem("i1", member_id, "off-10", online=True)
    view = ledger.member_view(member_id)
    assert view.points == 600 == sum(e.points for e in view.expiries)
