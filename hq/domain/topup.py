"""Stored value: the bonus a top-up earns and whether a spend from the balance is allowed.

Bonus: the programme's bonuses are rungs on the amount paid; the highest `min_fen` the payment
reaches applies, alone (bonuses do not add up). A rung gives a fixed `bonus_fen` ("pay 500 get
700": min 50000, bonus 20000) or `bonus_pct` percent of the payment, floored to the fen ("+20% from
10,000 yuan": 1,000,000 fen paid gives 200,000 fen).

First-day limit. The domain note says "some shops limit spending on the day a card is bought (e.g.
at most 60% of the top-up)". Our reading, for `first_day_spend_pct = p`:

- it applies on every day with a top-up, not only the day the card is sold (a caller wanting the
  narrower rule passes `topped_up_today_fen = 0` on other days);
- it limits the money those top-ups put on the card that day — payment plus bonus, i.e. what was
  credited to the balance — not money already on the card: on such a day the member may spend what
  they carried into the day plus p% of the day's top-ups (floored), in total over the day. Reading it
  as "at most p% of today's top-ups, whatever the old balance" would let a top-up *reduce* what a
  member with an older balance may spend, which no shop means;
- "today" is the store's calendar day in its own time zone; the caller sums the day and must use the
  same boundary for both figures.

The balance is never allowed to go negative, whatever the programme says.
"""

from __future__ import annotations

from dataclasses import dataclass

from hq.domain._checks import count
from hq.domain.errors import InvalidAmount
from hq.domain.program import Program, TopupBonus


def bonus_rung(program: Program, paid_fen: int) -> TopupBonus | None:
    """The bonus rung a payment of `paid_fen` reaches (the highest min_fen), or None."""
    count(paid_fen, "paid_fen")
    if program.topup is None:
        return None
    reached = [b for b in program.topup.bonuses if b.min_fen <= paid_fen]
    return reached[-1] if reached else None  # rungs are ascending (validated)


def topup_bonus(program: Program, paid_fen: int) -> int:
    """Bonus fen credited on top of a top-up of `paid_fen` (0 when no rung is reached)."""
    rung = bonus_rung(program, paid_fen)
    if rung is None:
        return 0
    if rung.bonus_pct is not None:
        return paid_fen * rung.bonus_pct // 100
    return rung.bonus_fen or 0  # exactly one of the two is set (validated)


@dataclass(frozen=True)
class StoredValueDecision:
    """Whether a spend from stored value may go ahead, and the most that may be spent now."""

    allowed: bool
    spendable_fen: int
    reason: str | None  # None when allowed; "insufficient_balance" or "first_day_limit"


def stored_value_spend_allowed(
    balance_fen: int, amount_fen: int, topped_up_today_fen: int, spent_today_fen: int, program: Program
) -> StoredValueDecision:
    """May `amount_fen` be spent from a balance of `balance_fen` now? (See the module notes.)

    `topped_up_today_fen`: what today's top-ups credited (payment plus bonus); `spent_today_fen`:
    what was spent from stored value today before this spend. Both over the store's calendar day.
    """
    count(balance_fen, "balance_fen")
    count(amount_fen, "amount_fen")
    count(topped_up_today_fen, "topped_up_today_fen")
    count(spent_today_fen, "spent_today_fen")
    if amount_fen == 0:
        raise InvalidAmount("amount_fen must be positive: a spend of 0 fen is not a spend")
    spendable = balance_fen
    pct = program.topup.first_day_spend_pct if program.topup is not None else None
    if pct is not None and topped_up_today_fen > 0:
        # Money carried into the day is free; of today's top-ups only pct% (floored) may go today.
        carried = max(0, balance_fen + spent_today_fen - topped_up_today_fen)
        day_allowance = carried + topped_up_today_fen * pct // 100
        spendable = max(0, min(balance_fen, day_allowance - spent_today_fen))
    if amount_fen > balance_fen:
        return StoredValueDecision(allowed=False, spendable_fen=spendable, reason="insufficient_balance")
    if amount_fen > spendable:
        return StoredValueDecision(allowed=False, spendable_fen=spendable, reason="first_day_limit")
    return StoredValueDecision(allowed=True, spendable_fen=spendable, reason=None)
