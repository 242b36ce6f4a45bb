"""Tier decisions: upgrades at once, re-evaluation over a window, overrides win."""

from __future__ import annotations

import datetime as dt

import pytest

from hq.domain.errors import UnknownTier
from hq.domain.examples import courier_program, supermarket_program
from hq.domain.program import parse_program
from hq.domain.tiers import (
    TierChange,
    TierState,
    clear_override,
    measure_window_start,
    reevaluate,
    set_override,
    starting_tier,
    tier_after_purchase,
)

CST = dt.timezone(dt.timedelta(hours=8))
SUPERMARKET = parse_program(4, supermarket_program())  # spend in fen, no downgrade
COURIER = parse_program(9, courier_program())  # growth points, yearly re-evaluation with downgrade


def test_a_new_member_starts_at_the_bottom_without_override():
    assert starting_tier(SUPERMARKET) == TierState(tier="regular", override=None)


# --- upgrades after a purchase --------------------------------------------------------------


def test_crossing_a_threshold_upgrades_at_once():
    decision = tier_after_purchase(SUPERMARKET, TierState("regular"), measure=100_000)
    assert decision is not None
    assert (decision.old_tier, decision.new_tier, decision.reason) == ("regular", "silver", TierChange.UPGRADE)
    assert decision.state == TierState("silver") and decision.measure == 100_000


def test_a_decision_names_the_programme_version_that_took_it():
    decision = tier_after_purchase(SUPERMARKET, TierState("regular"), measure=100_000)
    assert decision is not None and decision.rules_version == 4


def test_one_fen_short_of_the_threshold_changes_nothing():
    assert tier_after_purchase(SUPERMARKET, TierState("regular"), measure=99_999) is None


def test_a_big_purchase_can_skip_tiers():
    decision = tier_after_purchase(SUPERMARKET, TierState("regular"), measure=1_000_000)
    assert decision is not None and decision.new_tier == "diamond"


def test_a_purchase_never_moves_a_member_down():
    # A gold member whose measure is below gold (a refund, a raised threshold) stays gold.
    assert tier_after_purchase(SUPERMARKET, TierState("gold"), measure=120_000) is None
    assert tier_after_purchase(COURIER, TierState("gold"), measure=10) is None


def test_upgrades_on_growth_points_in_a_growth_ladder():
    decision = tier_after_purchase(COURIER, TierState("regular"), measure=5_000)
    assert decision is not None and decision.new_tier == "gold"


def test_an_override_blocks_upgrades():
    assert tier_after_purchase(SUPERMARKET, TierState("regular", override="silver"), measure=2_000_000) is None


def test_lowered_thresholds_take_effect_at_the_next_purchase():
    document = supermarket_program()
    document["kiosk"]["tiers"][1]["threshold"] = 50_000
    cheaper = parse_program(5, document)
    decision = tier_after_purchase(cheaper, TierState("regular"), measure=60_000)
    assert decision is not None and (decision.new_tier, decision.rules_version) == ("silver", 5)


def test_a_tier_the_programme_no_longer_has_is_replaced_by_the_measure():
    decision = tier_after_purchase(SUPERMARKET, TierState("platinum"), measure=600_000)
    assert decision is not None and (decision.old_tier, decision.new_tier) == ("platinum", "gold")


def test_negative_measure_is_refused():
    with pytest.raises(ValueError):
        tier_after_purchase(SUPERMARKET, TierState("regular"), measure=-1)


# --- scheduled re-evaluation ----------------------------------------------------------------


def test_reevaluation_moves_a_member_down_when_the_window_measure_fell():
    decision = reevaluate(COURIER, TierState("gold"), window_measure=1_200)
    assert decision is not None
    assert (decision.old_tier, decision.new_tier, decision.reason) == ("gold", "silver", TierChange.REEVALUATION)
    assert decision.state == TierState("silver")


def test_reevaluation_can_drop_several_tiers():
    decision = reevaluate(COURIER, TierState("diamond"), window_measure=0)
    assert decision is not None and decision.new_tier == "regular"


def test_reevaluation_also_moves_up():
    decision = reevaluate(COURIER, TierState("silver"), window_measure=20_000)
    assert decision is not None and decision.new_tier == "diamond"


def test_reevaluation_that_confirms_the_tier_changes_nothing():
    assert reevaluate(COURIER, TierState("gold"), window_measure=5_000) is None


def test_programmes_without_downgrade_do_not_reevaluate():
    assert reevaluate(SUPERMARKET, TierState("gold"), window_measure=0) is None


def test_an_override_survives_reevaluation():
    assert reevaluate(COURIER, TierState("gold", override="diamond"), window_measure=0) is None


def test_the_reevaluation_window_trails_the_evaluation_time():
    at = dt.datetime(2027, 1, 1, 3, 0, tzinfo=CST)
    assert measure_window_start(COURIER, at) == dt.datetime(2026, 1, 1, 3, 0, tzinfo=CST)


def test_without_reevaluation_the_measure_counts_from_the_beginning():
    assert measure_window_start(SUPERMARKET, dt.datetime(2027, 1, 1, tzinfo=CST)) is None


def test_a_member_moved_down_is_not_moved_straight_back_by_the_next_purchase():
    # Re-evaluated on 2027-01-01 on the growth since 2026-01-01: 1,200, gold -> silver. A purchase
    # a week later adds 300 growth to the same window's measure: 1,500 is still short of gold.
    moved = reevaluate(COURIER, TierState("gold"), window_measure=1_200)
    assert moved is not None
    assert tier_after_purchase(COURIER, moved.state, measure=1_200 + 300) is None


# --- overrides ------------------------------------------------------------------------------


def test_staff_override_sets_the_tier_the_member_has():
    decision = set_override(SUPERMARKET, TierState("regular"), "gold")
    assert decision is not None
    assert (decision.old_tier, decision.new_tier, decision.reason) == ("regular", "gold", TierChange.OVERRIDE)
    assert decision.state == TierState("regular", override="gold") and decision.state.effective == "gold"


def test_an_override_may_also_lower_the_tier():
    decision = set_override(SUPERMARKET, TierState("diamond"), "regular")
    assert decision is not None and (decision.old_tier, decision.new_tier) == ("diamond", "regular")


def test_pinning_the_current_tier_is_a_change_of_state_not_of_tier():
    decision = set_override(SUPERMARKET, TierState("gold"), "gold")
    assert decision is not None and decision.old_tier == decision.new_tier == "gold"
    assert decision.state.override == "gold"


def test_setting_the_same_override_again_changes_nothing():
    assert set_override(SUPERMARKET, TierState("regular", override="gold"), "gold") is None


def test_an_override_must_name_a_tier_of_the_programme():
    with pytest.raises(UnknownTier, match="no tier 'platinum'"):
        set_override(SUPERMARKET, TierState("regular"), "platinum")


def test_clearing_an_override_places_the_member_by_measure():
    decision = clear_override(SUPERMARKET, TierState("regular", override="diamond"), measure=600_000)
    assert decision is not None
    assert (decision.old_tier, decision.new_tier, decision.reason) == ("diamond", "gold", TierChange.OVERRIDE_CLEARED)
    assert decision.state == TierState("gold")


def test_clearing_an_override_without_downgrade_keeps_the_assigned_tier_as_a_floor():
    decision = clear_override(SUPERMARKET, TierState("gold", override="regular"), measure=0)
    assert decision is not None and decision.new_tier == "gold"


def test_clearing_an_override_with_downgrade_follows_the_measure_alone():
    decision = clear_override(COURIER, TierState("gold", override="diamond"), measure=0)
    assert decision is not None and decision.new_tier == "regular"


def test_clearing_when_there_is_no_override_changes_nothing():
    assert clear_override(SUPERMARKET, TierState("gold"), measure=0) is None
