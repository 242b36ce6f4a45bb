"""One time grid for everything the UI loop wakes up for: input polls, animation frames, ticks.

Each periodic thing happens at multiples of its period on the monotonic clock, so things whose
periods divide each other (a 6 fps animation, 12 Hz polls, 3 Hz ticks, a clock once a second)
come due at the same instants and share one wake-up. Float rounding: k/6 computed two ways can
differ by an ulp, so a point within EPSILON_S counts as reached; otherwise a loop could compute
"the next point" as now itself and spin without ever sleeping.
"""

from __future__ import annotations

import math

EPSILON_S = 1e-6


def grid_index(now: float, period_s: float) -> int:
    """How many whole periods have passed at `now` (a point within EPSILON_S counts as passed)."""
    return math.floor((now + EPSILON_S) / period_s)


def next_on_grid(now: float, period_s: float) -> float:
    """The first grid point strictly after `now` (by more than EPSILON_S)."""
    return (grid_index(now, period_s) + 1) * period_s
