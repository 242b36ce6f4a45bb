"""Stored value: top-up bonuses, and what may be spent on the day of a top-up."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hq.domain.errors import InvalidAmount
from hq.domain.examples import courier_program, supermarket_program
from hq.domain.program import parse_program
from hq.domain.topup import stored_value_spend_allowed, topup_bonus

# Pay 500 yuan get 700; from 10,000 yuan +20%; 60% of a day's top-ups may be spent that day.
SUPERMARKET = parse_program(1, supermarket_program())
NO_STORED_VALUE = parse_program(1, courier_program())


def _without_first_day_limit():
    document = supermarket_program()
    del document["topup"]["first_day_spend_pct"]
    return parse_program(1, document)


# --- bonus ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "paid_fen, bonus_fen",
    [
        (0, 0),
        (49_999, 0),  # below the first rung
        (50_000, 20_000),  # pay 500, get 700
        (999_999, 20_000),  # a fixed bonus does not grow with the payment
        (1_000_000, 200_000),  # 10,000 yuan at +20% = 12,000
        (1_000_001, 200_000),  # 200,000.2 floored
        (1_234_567, 246_913),  # 246,913.4 floored
    ],
)
def test_the_highest_rung_reached_gives_the_bonus(paid_fen, bonus_fen):
    assert topup_bonus(SUPERMARKET, paid_fen) == bonus_fen


def test_bonuses_do_not_add_up_across_rungs():
    assert topup_bonus(SUPERMARKET, 1_000_000) == 1_000_000 * 20 // 100  # not + 20,000


def test_a_programme_without_topup_terms_gives_no_bonus():
    assert topup_bonus(NO_STORED_VALUE, 5_000_000) == 0


def test_a_negative_payment_is_refused():
    with pytest.raises(InvalidAmount):
        topup_bonus(SUPERMARKET, -1)


# --- spending stored value ------------------------------------------------------------------


def test_spending_within_the_balance_is_allowed():
    decision = stored_value_spend_allowed(10_000, 10_000, topped_up_today_fen=0, spent_today_fen=0, program=SUPERMARKET)
    assert decision.allowed and decision.reason is None and decision.spendable_fen == 10_000


def test_the_balance_never_goes_negative():
    decision = stored_value_spend_allowed(10_000, 10_001, topped_up_today_fen=0, spent_today_fen=0, program=SUPERMARKET)
    assert not decision.allowed and decision.reason == "insufficient_balance"


def test_on_the_day_of_a_new_card_only_the_first_day_share_of_the_top_up_may_be_spent():
    # Paid 500 + 200 bonus = 70,000 fen credited today; 60% = 42,000 may go today.
    decision = stored_value_spend_allowed(
        70_000, 42_001, topped_up_today_fen=70_000, spent_today_fen=0, program=SUPERMARKET
    )
    assert not decision.allowed and decision.reason == "first_day_limit" and decision.spendable_fen == 42_000
    assert stored_value_spend_allowed(70_000, 42_000, 70_000, 0, SUPERMARKET).allowed


def test_the_first_day_share_is_for_the_whole_day_not_per_spend():
    # 30,000 already spent of today's 42,000 allowance: 12,000 left.
    decision = stored_value_spend_allowed(
        40_000, 12_001, topped_up_today_fen=70_000, spent_today_fen=30_000, program=SUPERMARKET
    )
    assert not decision.allowed and decision.spendable_fen == 12_000


def test_money_carried_into_the_day_stays_freely_spendable():
    # 10,000 on the card since last month, 70,000 topped up today: 10,000 + 60% of 70,000.
    decision = stored_value_spend_allowed(
        80_000, 52_000, topped_up_today_fen=70_000, spent_today_fen=0, program=SUPERMARKET
    )
    assert decision.allowed and decision.spendable_fen == 52_000


def test_spending_old_money_before_a_top_up_leaves_the_day_share_intact():
    # Morning: the 10,000 carried over is spent. Afternoon: 70,000 topped up; 42,000 may still go.
    decision = stored_value_spend_allowed(
        70_000, 42_000, topped_up_today_fen=70_000, spent_today_fen=10_000, program=SUPERMARKET
    )
    assert decision.allowed and decision.spendable_fen == 42_000


def test_the_first_day_share_is_floored_to_the_fen():
    assert stored_value_spend_allowed(999, 599, 999, 0, SUPERMARKET).spendable_fen == 599  # 599.4


def test_without_a_top_up_today_the_whole_balance_may_be_spent():
    assert stored_value_spend_allowed(70_000, 70_000, 0, 0, SUPERMARKET).allowed


def test_a_programme_without_first_day_limit_allows_the_whole_balance():
    assert stored_value_spend_allowed(70_000, 70_000, 70_000, 0, _without_first_day_limit()).allowed


def test_a_first_day_share_of_zero_locks_the_days_top_ups_until_tomorrow():
    document = supermarket_program()
    document["topup"]["first_day_spend_pct"] = 0
    decision = stored_value_spend_allowed(80_000, 10_001, 70_000, 0, parse_program(1, document))
    assert not decision.allowed and decision.spendable_fen == 10_000


def test_a_spend_of_nothing_is_refused():
    with pytest.raises(InvalidAmount, match="must be positive"):
        stored_value_spend_allowed(100, 0, 0, 0, SUPERMARKET)


@pytest.mark.parametrize("field", ["balance_fen", "amount_fen", "topped_up_today_fen", "spent_today_fen"])
def test_negative_figures_are_refused(field):
    figures = {"balance_fen": 100, "amount_fen": 10, "topped_up_today_fen": 0, "spent_today_fen": 0}
    figures[field] = -1
    with pytest.raises(InvalidAmount, match=field):
        stored_value_spend_allowed(**figures, program=SUPERMARKET)


@given(
    carried=st.integers(0, 10**8),
    topped=st.integers(0, 10**8),
    spent=st.integers(0, 10**8),
    amount=st.integers(1, 10**8),
)
def test_an_allowed_spend_never_overdraws_nor_exceeds_the_day_share(carried, topped, spent, amount):
    # A consistent day: `carried` at midnight, `topped` credited, `spent` already gone.
    balance = carried + topped - spent
    assume(balance >= 0)
    decision = stored_value_spend_allowed(balance, amount, topped, spent, SUPERMARKET)
    assert 0 <= decision.spendable_fen <= balance
    assert decision.allowed == (amount <= decision.spendable_fen)
    if decision.allowed:
        assert spent + amount <= carried + topped * 60 // 100
