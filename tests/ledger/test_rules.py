"""Tier rules and the rewards catalog: validation, tier boundaries, overrides, rule versions."""

from __future__ import annotations

import copy

import pytest

from kiosk.ledger import InvalidRules, StaleVersion
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.rules import evaluate_tier, format_yuan, parse_rules, progress_text
from tests.ledger.conftest import with_member

RULES = parse_rules(1, demo_rules())


@pytest.mark.parametrize(
    "spend_fen, tier",
    [
        (0, "regular"),
        (99_999, "regular"),
        (100_000, "silver"),
        (499_999, "silver"),
        (500_000, "gold"),
        (999_999, "gold"),
        (1_000_000, "diamond"),
        (50_000_000, "diamond"),
    ],
)
def test_tier_boundaries_on_cumulative_spend(spend_fen, tier):
    assert evaluate_tier(RULES, spend_fen=spend_fen, growth_points=0).tier.code == tier


@pytest.mark.parametrize(
    "code, discount, multiplier",
    [
        ("regular", 95, "1"),
        ("silver", 90, "1.5"),
        ("gold", 85, "2"),
        ("diamond", 80, "2.5"),
    ],
)
def test_demo_ladder_discounts_and_multipliers(code, discount, multiplier):
    tier = RULES.tier(code).info()
    assert (tier.discount_pct, tier.points_multiplier) == (discount, multiplier)
    assert tier.benefits["zh_CN"] and tier.benefits["en"]


def test_progress_names_next_tier_and_amount_still_needed():
    progress = evaluate_tier(RULES, spend_fen=376_600, growth_points=0).progress
    assert progress.next_tier.code == "gold" and progress.still_needed == 123_400
    assert progress_text(progress, "en") == "spend ¥1,234.00 more for Gold"
    assert progress_text(progress, "zh_CN") == "再消费¥1,234.00即可升级为金卡"


def test_top_tier_has_no_next_tier():
    progress = evaluate_tier(RULES, spend_fen=2_000_000, growth_points=0).progress
    assert progress.next_tier is None and progress.still_needed == 0 and progress_text(progress, "en") == ""


def test_manual_override_wins_over_spend():
    standing = evaluate_tier(RULES, spend_fen=0, growth_points=0, tier_override="diamond")
    assert standing.tier.code == "diamond" and standing.overridden


def test_without_downgrade_the_tier_hq_assigned_is_a_floor():
    assert evaluate_tier(RULES, spend_fen=0, growth_points=0, tier_floor="gold").tier.code == "gold"


def test_with_downgrade_the_measure_alone_decides():
    doc = demo_rules() | {"downgrade": True}
    rules = parse_rules(2, doc)
    assert evaluate_tier(rules, spend_fen=0, growth_points=0, tier_floor="gold").tier.code == "regular"


def test_growth_point_thresholds_are_expressible():
    doc = demo_rules() | {"measure": "growth_points"}
    for tier, threshold in zip(doc["tiers"], (0, 500, 2000, 8000)):
        tier["threshold"] = threshold
    rules = parse_rules(1, doc)
    standing = evaluate_tier(rules, spend_fen=99_999_999, growth_points=1999)
    assert standing.tier.code == "silver" and standing.progress.still_needed == 1
    assert progress_text(standing.progress, "en") == "earn 1 more growth points for Gold"


def test_format_yuan():
    assert format_yuan(123_400) == "¥1,234.00" and format_yuan(5) == "¥0.05"


def _broken(mutate):
    doc = copy.deepcopy(demo_rules())
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d.pop("tiers"), "tiers: is required"),
        (lambda d: d.update(measure="visits"), "measure"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d["tiers"][0].update(threshold=5), "tiers[0].threshold"),
        (lambda d: d["tiers"][2].update(threshold=100_000), "tiers[2].threshold: must be greater than tiers[1]"),
        (lambda d: d["tiers"][1].update(code="regular"), "tiers[1].code: duplicate"),
        (lambda d: d["tiers"][1].update(discount_pct=0), "tiers[1].discount_pct"),
        (lambda d: d["tiers"][1].update(points_multiplier="lots"), "tiers[1].points_multiplier"),
        (lambda d: d["tiers"][1]["name"].pop("en"), "tiers[1].name.en: is required"),
        (lambda d: d["rewards"][0].update(kind="cash"), "rewards[0].kind"),
        (lambda d: d["rewards"][0].update(cost_points=0), "rewards[0].cost_points"),
        (lambda d: d["rewards"][0].update(cost_points="500"), "rewards[0].cost_points: must be an integer"),
        (lambda d: d["rewards"][1].update(reward_id="off-5"), "rewards[1].reward_id: duplicate"),
        (lambda d: d["rewards"][0].update(tiers=["platinum"]), "rewards[0].tiers[0]: unknown tier code"),
        (
            lambda d: d["rewards"][0].update(valid_from="2026-01-01T00:00:00"),
            "rewards[0].valid_from: needs a UTC offset",
        ),
        (
            lambda d: d["rewards"][0].update(
                valid_from="2026-02-01T00:00:00+08:00", valid_until="2026-01-01T00:00:00+08:00"
            ),
            "rewards[0].valid_until: must be after valid_from",
        ),
        (lambda d: d["rewards"][0].update(per_member_limit={"count": 0}), "rewards[0].per_member_limit.count"),
    ],
)
def test_invalid_documents_are_rejected_with_the_exact_field(mutate, where):
    with pytest.raises(InvalidRules) as info:
        parse_rules(1, _broken(mutate))
    assert where in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_object_document_is_rejected():
    with pytest.raises(InvalidRules):
        parse_rules(1, ["not", "a", "document"])


def test_ledger_rejects_not_newer_rules_versions(ledger):
    with pytest.raises(StaleVersion):
        ledger.apply_rules(1, demo_rules())
    assert ledger.rules_version() == 1


def test_invalid_rules_leave_the_current_ones_in_force(ledger):
    with pytest.raises(InvalidRules):
        ledger.apply_rules(2, _broken(lambda d: d.update(measure="visits")))
    assert ledger.rules_version() == 1


def test_rule_change_applies_from_next_evaluation_and_old_vouchers_keep_their_version(ledger):
    member_id = with_member(ledger, points=5000, spend_fen=300_000)
    assert ledger.member_view(member_id).tier.code == "silver"
    ledger.redeem("i-before", member_id, "off-5", online=True)
    doc = demo_rules()
    doc["tiers"][2]["threshold"] = 300_000  # gold made easier
    ledger.apply_rules(2, doc)
    view = ledger.member_view(member_id)
    assert (view.tier.code, view.rules_version) == ("gold", 2)
    ledger.redeem("i-after", member_id, "off-5", online=True)
    versions = dict(ledger.conn.execute("SELECT intent_id, rules_version FROM vouchers").fetchall())
    assert versions == {"i-before": 1, "i-after": 2}
    assert ledger.rules_version() == 2


def test_rules_survive_a_restart(ledger, open_ledger):
    ledger.close()
    assert open_ledger().rules().tier("gold").threshold == 500_000


def test_hq_override_is_applied_to_the_member_view(ledger):
    member_id = with_member(ledger, tier_override="diamond")
    assert ledger.member_view(member_id).tier.code == "diamond"
