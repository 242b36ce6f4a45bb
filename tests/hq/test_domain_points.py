"""Points: earning (exact, floored once), lots spent oldest first, expiry, refunds, overdraft."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq.domain.errors import InvalidAmount, NaiveTime
from hq.domain.examples import supermarket_program
from hq.domain.points import (
    Lot,
    LotPoints,
    earn_growth,
    earn_points,
    expire,
    lot_expiry,
    member_day_multiplier,
    new_lot,
    refund_points,
    settle_overdraft,
    spend_oldest_first,
)
from hq.domain.program import parse_program

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=CST)
PROGRAM = parse_program(1, supermarket_program())


def _program(**earning: str):
    document = supermarket_program()
    document["earning"].update(earning)
    return parse_program(1, document)


def _lot(lot_id: str, points: int, *, expires_in_days: float, earned_days_ago: float = 100) -> Lot:
    return Lot(
        lot_id=lot_id,
        points_left=points,
        earned_at=NOW - dt.timedelta(days=earned_days_ago),
        expires_at=NOW + dt.timedelta(days=expires_in_days),
    )


# --- earning --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount_fen, multiplier, points",
    [
        (0, "1", 0),
        (99, "1", 0),  # less than a yuan earns nothing
        (100, "1", 1),
        (199, "1", 1),  # floored, not rounded
        (150, "1.5", 2),  # 2.25
        (66, "1.5", 0),  # 0.99
        (100, "2.5", 2),
        (12_345, "1.5", 185),  # 185.175
        (1_000_000, "2.5", 25_000),
        (100, "0", 0),
    ],
)
def test_points_are_yuan_times_rate_times_multiplier_floored_once(amount_fen, multiplier, points):
    assert earn_points(amount_fen, Decimal(multiplier), PROGRAM) == points


def test_points_per_yuan_other_than_one():
    program = _program(points_per_yuan="0.1")  # a point per 10 yuan
    assert earn_points(1_999, Decimal("1"), program) == 1
    assert earn_points(2_000, Decimal("1.5"), program) == 3


def test_huge_amounts_are_exact_beyond_decimal_precision():
    # 2**63 - 1 fen x 2.5 has more digits than Decimal's default 28-digit context keeps.
    amount = 2**63 - 1
    assert earn_points(amount, Decimal("2.5"), PROGRAM) == amount * 25 // 1000
    assert earn_points(10**30 + 99, Decimal("1.000001"), PROGRAM) == (10**30 + 99) * 1_000_001 // 100_000_000


def test_a_multiplier_with_many_places_is_exact():
    assert earn_points(300, Decimal("0.333333"), PROGRAM) == 0  # 0.999999
    assert earn_points(301, Decimal("0.333333"), PROGRAM) == 1


def test_member_day_multiplies_with_the_tier_and_floors_once():
    assert earn_points(150, Decimal("1.5"), PROGRAM, member_day=Decimal("1.5")) == 3  # 3.375
    # 66 fen x1.5 x2 = 1.98: 1 point; flooring the tier's 0.99 first would leave 0 to double.
    assert earn_points(66, Decimal("1.5"), PROGRAM, member_day=Decimal("2")) == 1


def test_member_day_is_the_rules_day_in_the_times_own_offset():
    # The supermarket programme's member day: Wednesdays and the 8th, 18th, 28th, x2.
    wednesday = dt.datetime(2026, 12, 2, 0, 30, tzinfo=CST)
    assert member_day_multiplier(PROGRAM, wednesday) == Decimal("2")
    assert member_day_multiplier(PROGRAM, wednesday.astimezone(dt.UTC)) is None  # still Tuesday in UTC
    assert member_day_multiplier(PROGRAM, dt.datetime(2026, 12, 8, 12, 0, tzinfo=CST)) == Decimal("2")


def test_no_member_day_section_is_no_member_day():
    document = supermarket_program()
    del document["kiosk"]["member_day"]
    assert member_day_multiplier(parse_program(1, document), dt.datetime(2026, 12, 2, 12, 0, tzinfo=CST)) is None


@pytest.mark.parametrize("amount_fen", [-1, True, 1.0, "100"])
def test_amount_must_be_a_non_negative_integer(amount_fen):
    with pytest.raises(InvalidAmount):
        earn_points(amount_fen, Decimal("1"), PROGRAM)


def test_a_float_multiplier_is_a_type_error():
    with pytest.raises(TypeError, match="multiplier must be a Decimal"):
        earn_points(100, 1.5, PROGRAM)  # type: ignore[arg-type]


@pytest.mark.parametrize("multiplier", ["-1", "NaN", "Infinity"])
def test_multiplier_must_be_finite_and_not_negative(multiplier):
    with pytest.raises(InvalidAmount):
        earn_points(100, Decimal(multiplier), PROGRAM)


def test_growth_is_yuan_times_growth_rate_floored_without_tier_multiplier():
    assert earn_growth(12_399, PROGRAM) == 123
    assert earn_growth(12_399, _program(growth_per_yuan="2")) == 247  # 247.98


def test_lots_expire_after_the_programme_validity_at_the_same_local_time():
    earned = dt.datetime(2026, 2, 28, 21, 30, tzinfo=CST)
    assert lot_expiry(earned, PROGRAM) == dt.datetime(2027, 2, 28, 21, 30, tzinfo=CST)
    lot = new_lot("L1", 120, earned, PROGRAM)
    assert (lot.points_left, lot.expires_at) == (120, dt.datetime(2027, 2, 28, 21, 30, tzinfo=CST))


def test_naive_times_are_refused():
    with pytest.raises(NaiveTime):
        lot_expiry(dt.datetime(2026, 1, 1), PROGRAM)
    with pytest.raises(NaiveTime):
        Lot("L1", 1, dt.datetime(2026, 1, 1), NOW)
    with pytest.raises(NaiveTime):
        spend_oldest_first([], 1, dt.datetime(2026, 1, 1))
    with pytest.raises(NaiveTime):
        expire([], dt.datetime(2026, 1, 1))


def test_a_lot_cannot_hold_negative_points():
    with pytest.raises(InvalidAmount):
        _lot("L1", -1, expires_in_days=1)


# --- spending -------------------------------------------------------------------------------


def test_spending_takes_the_lot_expiring_first():
    lots = [_lot("late", 500, expires_in_days=200), _lot("soon", 300, expires_in_days=10)]
    plan = spend_oldest_first(lots, 400, NOW)
    assert plan.allocations == (LotPoints("soon", 300), LotPoints("late", 100))
    assert plan.shortfall == 0 and plan.covered == 400


def test_equal_expiry_takes_the_lot_earned_first():
    lots = [
        _lot("newer", 100, expires_in_days=30, earned_days_ago=5),
        _lot("older", 100, expires_in_days=30, earned_days_ago=50),
    ]
    assert spend_oldest_first(lots, 150, NOW).allocations == (LotPoints("older", 100), LotPoints("newer", 50))


def test_expired_lots_are_never_spent():
    lots = [_lot("gone", 1_000, expires_in_days=0), _lot("live", 100, expires_in_days=1)]
    plan = spend_oldest_first(lots, 300, NOW)
    assert plan.allocations == (LotPoints("live", 100),)
    assert plan.shortfall == 200


def test_what_the_lots_cannot_cover_is_a_shortfall_not_a_refusal():
    plan = spend_oldest_first([_lot("L1", 250, expires_in_days=30)], 1_000, NOW)
    assert plan.allocations == (LotPoints("L1", 250),) and plan.shortfall == 750


def test_a_member_without_lots_overdraws_the_whole_spend():
    plan = spend_oldest_first([], 500, NOW)
    assert plan.allocations == () and plan.shortfall == 500


def test_spending_nothing_takes_nothing():
    plan = spend_oldest_first([_lot("L1", 250, expires_in_days=30)], 0, NOW)
    assert plan.allocations == () and plan.shortfall == 0


def test_empty_lots_get_no_allocation():
    lots = [_lot("empty", 0, expires_in_days=1), _lot("full", 10, expires_in_days=2)]
    assert spend_oldest_first(lots, 5, NOW).allocations == (LotPoints("full", 5),)


def test_lots_in_other_time_zones_are_ordered_by_instant():
    utc_lot = Lot("utc", 10, NOW - dt.timedelta(days=1), dt.datetime(2026, 6, 2, 3, 0, tzinfo=dt.UTC))  # 11:00 CST
    cst_lot = Lot("cst", 10, NOW - dt.timedelta(days=1), dt.datetime(2026, 6, 2, 12, 0, tzinfo=CST))
    assert spend_oldest_first([cst_lot, utc_lot], 10, NOW).allocations == (LotPoints("utc", 10),)


def test_negative_spend_is_refused():
    with pytest.raises(InvalidAmount):
        spend_oldest_first([], -1, NOW)


# --- expiry ---------------------------------------------------------------------------------


def test_lots_lapse_at_their_expiry_instant():
    lots = [
        _lot("exactly-now", 40, expires_in_days=0),
        _lot("yesterday", 60, expires_in_days=-1),
        _lot("tomorrow", 100, expires_in_days=1),
    ]
    plan = expire(lots, NOW)
    assert plan.lapsed == (LotPoints("yesterday", 60), LotPoints("exactly-now", 40))
    assert plan.points == 100


def test_spent_out_lots_do_not_lapse_again():
    assert expire([_lot("used", 0, expires_in_days=-5)], NOW).lapsed == ()


# --- refunds --------------------------------------------------------------------------------


def test_a_full_refund_reverses_every_point():
    assert (
        refund_points(original_points=185, original_amount_fen=12_345, refunded_fen=12_345, already_refunded_fen=0)
        == 185
    )


def test_a_partial_refund_reverses_its_share_floored():
    # a third of 100 points is 33.33...
    assert refund_points(100, 3_000, 1_000, 0) == 33


def test_partial_refunds_adding_up_to_the_purchase_reverse_exactly_the_points():
    reversed_ = [refund_points(100, 3_000, 1_000, already) for already in (0, 1_000, 2_000)]
    assert reversed_ == [33, 33, 34] and sum(reversed_) == 100


def test_a_refund_beyond_the_purchase_is_refused():
    with pytest.raises(InvalidAmount, match="exceeds the purchase"):
        refund_points(100, 3_000, 1_001, 2_000)


def test_a_refund_of_a_free_purchase_reverses_nothing():
    assert refund_points(0, 0, 0, 0) == 0


def test_a_zero_refund_reverses_nothing():
    assert refund_points(100, 3_000, 0, 1_500) == 0


# --- overdraft ------------------------------------------------------------------------------


def test_new_points_first_repay_the_overdraft():
    settlement = settle_overdraft(overdraft_points=300, earned_points=500)
    assert (settlement.repaid, settlement.to_lot, settlement.overdraft_left) == (300, 200, 0)


def test_earnings_smaller_than_the_overdraft_all_go_to_repaying_it():
    settlement = settle_overdraft(overdraft_points=300, earned_points=120)
    assert (settlement.repaid, settlement.to_lot, settlement.overdraft_left) == (120, 0, 180)


# --- properties -----------------------------------------------------------------------------

lots_strategy = st.lists(
    st.builds(
        lambda i, points, expires, earned: Lot(
            f"L{i}", points, NOW - dt.timedelta(hours=earned), NOW + dt.timedelta(hours=expires)
        ),
        st.integers(0, 10**6),
        st.integers(0, 5_000),
        st.integers(-48, 48),
        st.integers(0, 48),
    ),
    max_size=8,
    unique_by=lambda lot: lot.lot_id,
)


@given(lots=lots_strategy, points=st.integers(0, 30_000))
def test_spending_never_takes_more_than_lots_hold_and_the_shortfall_is_the_rest(lots, points):
    plan = spend_oldest_first(lots, points, NOW)
    held = {lot.lot_id: lot.points_left for lot in lots if lot.expires_at > NOW}
    assert plan.covered + plan.shortfall == points
    assert all(0 < a.points <= held[a.lot_id] for a in plan.allocations)  # live lots only, within them
    assert len({a.lot_id for a in plan.allocations}) == len(plan.allocations)
    assert plan.shortfall == max(0, points - sum(held.values()))


@given(lots=lots_strategy, points=st.integers(1, 30_000))
def test_a_lot_is_touched_only_once_every_older_lot_is_empty(lots, points):
    plan = spend_oldest_first(lots, points, NOW)
    by_id = {lot.lot_id: lot for lot in lots}
    for earlier, later in zip(plan.allocations, plan.allocations[1:]):
        assert earlier.points == by_id[earlier.lot_id].points_left  # emptied before moving on
        a, b = by_id[earlier.lot_id], by_id[later.lot_id]
        assert (a.expires_at, a.earned_at) <= (b.expires_at, b.earned_at)


@given(lots=lots_strategy)
def test_expiry_and_live_points_partition_the_lots(lots):
    lapsed = expire(lots, NOW).points
    live = sum(lot.points_left for lot in lots if lot.expires_at > NOW)
    assert lapsed + live == sum(lot.points_left for lot in lots)


@given(
    points=st.integers(0, 10**9),
    amount=st.integers(1, 10**9),
    cuts=st.lists(st.floats(0, 1), max_size=6),
)
def test_refunds_never_reverse_more_than_earned_and_a_full_refund_reverses_all(points, amount, cuts):
    # Split the purchase into refunds at arbitrary cut points; the last one refunds the rest.
    marks = sorted({0, amount, *(int(amount * c) for c in cuts)})
    reversed_total = 0
    for before, after in zip(marks, marks[1:]):
        reversed_total += refund_points(points, amount, after - before, before)
        assert 0 <= reversed_total <= points
    assert reversed_total == points
