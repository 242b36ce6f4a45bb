"""The stale deny-list rule, as a pure function the app and the ledger call before redeeming.

A kiosk enforces the deny-list offline, but it can only block cards it has heard about. When the
newest list it holds is older than `max_age`, a card reported lost since then would still work;
the kiosk keeps showing accounts but caps how many points an offline redemption may spend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RedemptionPolicyDecision:
    allowed: bool
    # "online", "denylist_fresh", "within_offline_limit", "denylist_stale", "no_denylist", "clock_untrusted"
    reason: str
    denylist_age: dt.timedelta | None = None


def offline_redemption_allowed(
    *,
    online: bool,
    denylist_issued_at: dt.datetime | None,
    now: dt.datetime,
    max_age: dt.timedelta,
    small_limit_points: int,
    points: int,
    clock_trusted: bool = True,
) -> RedemptionPolicyDecision:
    """May a redemption costing `points` go ahead given the deny-list's age?

    Online (the link is up and HQ acknowledges events with signed acks), the deny-list is the one
    HQ keeps pushing live, and the redemption event reaches HQ within seconds, so the list's age
    is no reason to refuse. HQ does not approve a redemption before it happens: it reconciles it
    after the fact (the reference listener only stores it; HQ as the authority, issue #19, debits
    it and flags what the offline limits let through twice).
    Offline, a list older than `max_age` (or none at all) allows only redemptions costing at most
    `small_limit_points` (config: ledger.stale_denylist_max_points). A list "issued" in the
    future (clock skew) counts as fresh, not stale.
    Offline with a clock known to be wrong (`clock_trusted` False: not synchronised since boot on a
    board without an RTC, app/clock_trust.py) nothing is redeemed: the deny-list's age, the daily
    offline limits and expiries are all judged by that clock.
    """
    if now.tzinfo is None or (denylist_issued_at is not None and denylist_issued_at.tzinfo is None):
        raise ValueError("times must be timezone-aware")
    if online:
        return RedemptionPolicyDecision(True, "online")
    if not clock_trusted:
        return RedemptionPolicyDecision(False, "clock_untrusted")
    if denylist_issued_at is None:
        allowed = points <= small_limit_points
        return RedemptionPolicyDecision(allowed, "within_offline_limit" if allowed else "no_denylist")
    age = now - denylist_issued_at
    if age <= max_age:
        return RedemptionPolicyDecision(True, "denylist_fresh", age)
    if points <= small_limit_points:
        return RedemptionPolicyDecision(True, "within_offline_limit", age)
    return RedemptionPolicyDecision(False, "denylist_stale", age)
