"""Tier decisions: upgrades after a purchase, scheduled re-evaluation, manual overrides.

A member's tier state is two codes, as HQ stores them and kiosks receive them (`tier_floor`,
`tier_override` in the member snapshot): the tier the rules assigned, and an optional override
staff set by hand. The override wins over everything: while it stands the rules decide nothing,
and clearing it places the member by their measure again.

The measure is what the ladder's thresholds count (kiosk document's `measure`): spend in fen or
growth points. Which period it covers:

- programmes without downgrade: everything since the member joined (cumulative);
- downgrade programmes: everything since `measure_window_start(program, last_reevaluation)`, i.e.
  the trailing window as it stood at the member's last re-evaluation, plus all that came after.
  At a re-evaluation at T the window moves to [T - window_days, T] and the tier follows the
  measure, down as well as up. Between re-evaluations the measure only grows (refunds aside), so
  an upgrade is never undone by old purchases silently leaving the window, and a member who was
  just moved down is not moved straight back up by their next purchase — which is what would
  happen if upgrades used the all-time measure while re-evaluation used the window.

Every function returns a `TierDecision` (old and new tier as the member sees them, the reason and
the state to store) or None when nothing changes. Decisions take the programme given, so a rule
change takes effect from the member's next transaction. Tier placement itself is kiosk's
`evaluate_tier`, so HQ and the kiosks agree on the thresholds.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from hq.domain._checks import aware, count
from hq.domain.errors import UnknownTier
from hq.domain.program import Program
from kiosk.ledger.rules import Tier, evaluate_tier


class TierChange(str, enum.Enum):
    UPGRADE = "upgrade"  # the measure crossed a threshold after a purchase
    REEVALUATION = "reevaluation"  # scheduled re-evaluation over the trailing window (up or down)
    OVERRIDE = "override"  # staff set the tier by hand
    OVERRIDE_CLEARED = "override_cleared"  # staff removed the override; the measure decides again


@dataclass(frozen=True)
class TierState:
    """`tier`: assigned by the rules (members.tier); `override`: set by staff, wins when present."""

    tier: str
    override: str | None = None

    @property
    def effective(self) -> str:
        return self.override if self.override is not None else self.tier


@dataclass(frozen=True)
class TierDecision:
    """A change to a member's tier state. `old_tier`/`new_tier` are the tiers the member has
    (override included) before and after; they are equal when only the override's pin changed."""

    old_tier: str
    new_tier: str
    reason: TierChange
    state: TierState  # the state to store
    measure: int | None  # the measure the rules were applied to; None for setting an override
    rules_version: int


def _rank(program: Program, code: str) -> int:
    """Position on the ladder, bottom 0; -1 for a code the programme does not have."""
    return next((i for i, t in enumerate(program.rules.tiers) if t.code == code), -1)


def _placed(program: Program, measure: int, floor: str | None) -> Tier:
    count(measure, "measure")
    spend = measure if program.rules.measure == "spend_fen" else 0
    growth = measure if program.rules.measure == "growth_points" else 0
    # Without downgrade kiosk's floor keeps a member at least where HQ put them; with it, ignored.
    return evaluate_tier(program.rules, spend_fen=spend, growth_points=growth, tier_floor=floor).tier


def starting_tier(program: Program) -> TierState:
    """A new member's tier state: the bottom rung, no override."""
    return TierState(tier=program.rules.tiers[0].code)


def measure_window_start(program: Program, at: dt.datetime) -> dt.datetime | None:
    """Start of the period the measure counts, for a re-evaluation at `at` (see the module notes).

    None for programmes without re-evaluation (count everything). Activity at or after the start
    counts. Call it with the member's last re-evaluation to know what to sum between them.
    """
    aware(at, "at")
    if program.reevaluation is None:
        return None
    return at - dt.timedelta(days=program.reevaluation.window_days)


def tier_after_purchase(program: Program, state: TierState, measure: int) -> TierDecision | None:
    """Move the member up at once if `measure` (after the purchase) reaches a higher tier.

    Never down: a purchase only adds to the measure, and moving down is re-evaluation's job. An
    assigned tier the programme no longer has counts as below the bottom rung, so the member is
    placed by measure on the current ladder. Under an override nothing changes.
    """
    if state.override is not None:
        count(measure, "measure")
        return None
    placed = _placed(program, measure, state.tier)
    if _rank(program, placed.code) <= _rank(program, state.tier):
        return None
    return TierDecision(
        old_tier=state.tier,
        new_tier=placed.code,
        reason=TierChange.UPGRADE,
        state=TierState(tier=placed.code),
        measure=measure,
        rules_version=program.version,
    )


def reevaluate(program: Program, state: TierState, window_measure: int) -> TierDecision | None:
    """Scheduled re-evaluation: the tier follows the measure over the trailing window.

    Only downgrade programmes re-evaluate (a programme has `reevaluation` exactly when its kiosk
    part has `downgrade`); elsewhere, and under an override, nothing changes.
    """
    count(window_measure, "window_measure")
    if program.reevaluation is None or not program.rules.downgrade or state.override is not None:
        return None
    placed = _placed(program, window_measure, None)
    if placed.code == state.tier:
        return None
    return TierDecision(
        old_tier=state.tier,
        new_tier=placed.code,
        reason=TierChange.REEVALUATION,
        state=TierState(tier=placed.code),
        measure=window_measure,
        rules_version=program.version,
    )


def set_override(program: Program, state: TierState, code: str) -> TierDecision | None:
    """Staff pin the member's tier to `code`; the rules keep the assigned tier underneath."""
    if _rank(program, code) < 0:
        known = ", ".join(t.code for t in program.rules.tiers)
        raise UnknownTier(f"programme version {program.version} has no tier {code!r} (tiers: {known})")
    if state.override == code:
        return None
    return TierDecision(
        old_tier=state.effective,
        new_tier=code,
        reason=TierChange.OVERRIDE,
        state=TierState(tier=state.tier, override=code),
        measure=None,
        rules_version=program.version,
    )


def clear_override(program: Program, state: TierState, measure: int) -> TierDecision | None:
    """Remove the override; the member is placed by `measure` as if the override never was.

    Without downgrade the assigned tier is still a floor (upgrades earned under the override are
    caught up, nothing is lost); with downgrade the measure alone decides, as at a re-evaluation.
    """
    count(measure, "measure")
    if state.override is None:
        return None
    floor = None if program.rules.downgrade else state.tier
    placed = _placed(program, measure, floor)
    return TierDecision(
        old_tier=state.effective,
        new_tier=placed.code,
        reason=TierChange.OVERRIDE_CLEARED,
        state=TierState(tier=placed.code),
        measure=measure,
        rules_version=program.version,
    )
