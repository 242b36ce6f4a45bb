"""The two ladders of the domain notes, expressed as programmes and walked through as stories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hq.domain.examples import courier_program, supermarket_program
from hq.domain.points import earn_growth, earn_points
from hq.domain.program import parse_program
from hq.domain.tiers import TierState, measure_window_start, reevaluate, tier_after_purchase
from hq.domain.topup import topup_bonus
from kiosk.ledger.rules import evaluate_tier, parse_rules

CST = dt.timezone(dt.timedelta(hours=8))
SUPERMARKET = parse_program(1, supermarket_program())
COURIER = parse_program(1, courier_program())


@pytest.mark.parametrize("make", [supermarket_program, courier_program])
def test_each_example_is_a_valid_programme_whose_kiosk_part_kiosks_accept(make):
    program = parse_program(1, make())
    assert parse_rules(1, program.kiosk_document) == program.rules


@pytest.mark.parametrize("make", [supermarket_program, courier_program])
def test_each_call_returns_a_fresh_document(make):
    first = make()
    first["kiosk"]["tiers"].clear()
    assert len(make()["kiosk"]["tiers"]) == 4


def test_supermarket_ladder_is_the_domain_notes_ladder():
    rows = [
        (t.code, t.name["zh_CN"], t.threshold, t.discount_pct, t.points_multiplier) for t in SUPERMARKET.rules.tiers
    ]
    assert rows == [
        ("regular", "普通会员", 0, 95, Decimal("1")),
        ("silver", "银卡", 100_000, 90, Decimal("1.5")),
        ("gold", "金卡", 500_000, 85, Decimal("2")),
        ("diamond", "钻石", 1_000_000, 80, Decimal("2.5")),
    ]
    assert SUPERMARKET.rules.measure == "spend_fen" and not SUPERMARKET.rules.downgrade
    assert SUPERMARKET.reevaluation is None


@pytest.mark.parametrize(
    "spend_yuan, tier",
    [(999.99, "regular"), (1_000, "silver"), (4_999.99, "silver"), (5_000, "gold"), (10_000, "diamond")],
)
def test_supermarket_boundaries_in_yuan(spend_yuan, tier):
    spend_fen = round(spend_yuan * 100)
    assert evaluate_tier(SUPERMARKET.rules, spend_fen=spend_fen, growth_points=0).tier.code == tier


def test_supermarket_story_a_silver_member_earns_one_and_a_half_points_per_yuan():
    # 900 yuan so far; a 200-yuan purchase crosses 1,000 yuan and makes the member silver at once.
    decision = tier_after_purchase(SUPERMARKET, TierState("regular"), measure=90_000 + 20_000)
    assert decision is not None and decision.new_tier == "silver"
    # The purchase that crossed earns at the tier the member had when paying: 200 points.
    assert earn_points(20_000, SUPERMARKET.rules.tiers[0].points_multiplier, SUPERMARKET) == 200
    # The next 200 yuan earn at silver: 300 points.
    silver = SUPERMARKET.tier("silver")
    assert silver is not None and earn_points(20_000, silver.points_multiplier, SUPERMARKET) == 300


def test_supermarket_stored_value_pay_500_get_700_and_10000_at_plus_20_percent():
    assert 50_000 + topup_bonus(SUPERMARKET, 50_000) == 70_000
    assert 1_000_000 + topup_bonus(SUPERMARKET, 1_000_000) == 1_200_000


def test_courier_ladder_counts_growth_points_and_moves_down_yearly():
    assert [(t.name["zh_CN"], t.threshold) for t in COURIER.rules.tiers] == [
        ("普通", 0),
        ("银卡", 1_000),
        ("金卡", 5_000),
        ("钻石", 20_000),
    ]
    assert COURIER.rules.measure == "growth_points" and COURIER.rules.downgrade
    assert COURIER.reevaluation is not None and COURIER.reevaluation.window_days == 365


def test_courier_story_a_busy_year_then_a_quiet_one():
    # 2026: 6,000 yuan of postage -> 6,000 growth points -> gold as soon as 5,000 is crossed.
    growth_2026 = earn_growth(600_000, COURIER)
    decision = tier_after_purchase(COURIER, TierState("regular"), measure=growth_2026)
    assert decision is not None and decision.new_tier == "gold"
    # 2027-01-01: re-evaluated on the past year's 6,000: stays gold.
    at = dt.datetime(2027, 1, 1, 3, 0, tzinfo=CST)
    assert measure_window_start(COURIER, at) == dt.datetime(2026, 1, 1, 3, 0, tzinfo=CST)
    assert reevaluate(COURIER, decision.state, window_measure=growth_2026) is None
    # 2028-01-01: only 1,500 yuan shipped in 2027 -> moves down to silver.
    moved = reevaluate(COURIER, decision.state, window_measure=earn_growth(150_000, COURIER))
    assert moved is not None and (moved.old_tier, moved.new_tier) == ("gold", "silver")
