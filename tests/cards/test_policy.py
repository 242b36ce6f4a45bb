"""Stale deny-list rule: offline redemptions above a small limit wait for a fresh list."""

import datetime as dt

import pytest

from kiosk.cards.policy import offline_redemption_allowed

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
MAX_AGE = dt.timedelta(hours=72)


def decide(*, online=False, issued_at=NOW - dt.timedelta(hours=1), points=1000, limit=500):
    return offline_redemption_allowed(
        online=online, denylist_issued_at=issued_at, now=NOW, max_age=MAX_AGE, small_limit_points=limit, points=points
    )


def test_fresh_list_allows_any_offline_redemption():
    assert decide().allowed


def test_stale_list_refuses_offline_redemption_above_the_limit():
    decision = decide(issued_at=NOW - MAX_AGE - dt.timedelta(seconds=1))
    assert not decision.allowed and decision.reason == "denylist_stale"


def test_stale_list_still_allows_small_redemptions():
    assert decide(issued_at=NOW - dt.timedelta(days=30), points=500).allowed


def test_list_exactly_max_age_old_is_still_fresh():
    assert decide(issued_at=NOW - MAX_AGE).allowed


def test_no_list_at_all_counts_as_stale():
    assert not decide(issued_at=None).allowed
    assert decide(issued_at=None, points=100).allowed


def test_online_redemptions_are_not_limited_here():
    assert decide(online=True, issued_at=None, points=10**6).allowed


def test_naive_times_are_a_programming_error():
    with pytest.raises(ValueError):
        decide(issued_at=dt.datetime(2026, 1, 1))
