"""The chi-square survival function and Pearson's test HQ's wheel audit uses (hq.domain.chisquare),
against the tables' critical values and closed forms: erfc(sqrt(x/2)) for 1 degree of freedom,
erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2) for 3, e^(-x/2) sum_(k<5) (x/2)^k / k! for 10."""

from __future__ import annotations

import math

import pytest

from hq.domain.chisquare import pearson, survival


@pytest.mark.parametrize(
    "x, dof, p",
    [
        (3.841458820694124, 1, 0.05),  # the 5% critical values
        (5.991464547107979, 2, 0.05),
        (16.26623619623813, 3, 0.001),  # the audit's threshold for a four-prize wheel
        (0.5, 1, 0.4795001221869535),
        (1.0, 10, 0.9998278843700441),  # the series side (x/2 < dof/2 + 1)
        (30.0, 3, 1.3800570312932547e-06),  # the continued-fraction side
        (0.0, 4, 1.0),
    ],
)
def test_the_survival_function_matches_the_tables(x, dof, p):
    assert math.isclose(survival(x, dof), p, rel_tol=1e-9)


def test_zero_degrees_of_freedom_is_refused():
    with pytest.raises(ValueError, match="degrees of freedom"):
        survival(1.0, 0)


def test_pearson_sums_over_the_categories_that_can_occur():
    fit = pearson([60, 40, 0], [50.0, 50.0, 0.0])
    assert fit is not None
    assert (fit.statistic, fit.dof) == (4.0, 1)
    assert math.isclose(fit.p_value, 0.04550026389635842, rel_tol=1e-9)


def test_an_observation_where_none_could_occur_has_p_zero():
    fit = pearson([50, 49, 1], [50.0, 50.0, 0.0])
    assert fit is not None and (fit.statistic, fit.p_value) == (math.inf, 0.0)


def test_a_single_possible_category_allows_no_test():
    assert pearson([10, 0], [10.0, 0.0]) is None
