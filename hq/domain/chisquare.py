"""Pearson's chi-square goodness-of-fit test, without scipy (not a dependency of HQ).

`survival(x, dof)` is P(X >= x) for X chi-square with `dof` degrees of freedom: the regularized
upper incomplete gamma function Q(dof/2, x/2), by its power series below a + 1 and by Lentz's
continued fraction above (Numerical Recipes, 6.2), each converging fast in its region. The
relative error is below 1e-12, far finer than a p-value threshold needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float


def _lower_series(a: float, x: float) -> float:
    """P(a, x), the regularized lower incomplete gamma, for x < a + 1."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x), the regularized upper incomplete gamma, for x >= a + 1 (modified Lentz)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def survival(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square with `dof` (>= 1) degrees of freedom."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {dof}")
    if x <= 0:
        return 1.0
    a, half = dof / 2.0, x / 2.0
    if half < a + 1.0:
        return max(0.0, 1.0 - _lower_series(a, half))
    return min(1.0, _upper_fraction(a, half))


def pearson(observed: Sequence[int], expected: Sequence[float]) -> ChiSquare | None:
    """The statistic sum((O - E)^2 / E) over the categories with E > 0, its degrees of freedom
    (those categories less one) and p-value; None when fewer than two categories can occur.

    An observation in a category whose expected count is 0 cannot happen by chance: the
    statistic is then infinite and the p-value 0.
    """
    if len(observed) != len(expected):
        raise ValueError("observed and expected differ in length")
    possible = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    if len(possible) < 2:
        return None
    dof = len(possible) - 1
    if any(o > 0 and e <= 0 for o, e in zip(observed, expected, strict=True)):
        return ChiSquare(math.inf, dof, 0.0)
    statistic = sum((o - e) ** 2 / e for o, e in possible)
    return ChiSquare(statistic, dof, survival(statistic, dof))
