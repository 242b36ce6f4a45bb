"""Daily check-in (每日签到) in the ledger: once per member per store day, a streak that survives
across kiosks (HQ's last day and streak) and is extended locally until HQ confirms, the rules'
points and streak bonuses in a local lot that counts and spends like HQ's, a `checkin` event in
the outbox, and offline check-ins that work within the offline limits."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import CheckinRefused, InvalidRules, InvalidSnapshot, OfflineLimitReached, OfflineLimits
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.rules import parse_rules
from kiosk.model import CheckinResult, CheckinStatus
from tests.ledger.conftest import DAY, T0, member, with_member


def events(ledger, type_="checkin"):
    return [e for e in ledger.outbox_pending(100) if e.type == type_]


# --- rules ---------------------------------------------------------------------------------------


def rules_with(checkin):
    document = demo_rules()
    document["checkin"] = checkin
    return document


def test_the_rules_checkin_section_gives_points_per_day_and_streak_bonuses():
    rules = parse_rules(1, rules_with({"points_per_day": 5, "streak_bonuses": {"7": 50, "30": 300}}))
    assert rules.checkin is not None and rules.checkin.enabled
    assert [rules.checkin.points_for(n) for n in (1, 6, 7, 30)] == [(5, 0), (5, 0), (55, 50), (305, 300)]


def test_rules_without_a_checkin_section_offer_none():
    document = demo_rules()
    del document["checkin"]
    assert parse_rules(1, document).checkin is None


@pytest.mark.parametrize(
    "checkin, message",
    [
        ({"points_per_day": -1}, "checkin.points_per_day: must be at least 0"),
        ({"points_per_day": "5"}, "checkin.points_per_day: must be an integer"),
        ({"points_per_day": 5, "enabled": "yes"}, "checkin.enabled: must be true or false"),
        ({"points_per_day": 5, "streak_bonuses": {"seven": 50}}, "checkin.streak_bonuses.seven: must be a day count"),
        ({"points_per_day": 5, "streak_bonuses": {"1": 50}}, "checkin.streak_bonuses.1: day must be between 2"),
        ({"points_per_day": 5, "streak_bonuses": {"7": 0}}, "checkin.streak_bonuses.7: must be at least 1"),
        ({"points_per_day": 5, "streak_bonuses": [50]}, "checkin.streak_bonuses: must be an object"),
        ({"points_per_day": 0}, "checkin.points_per_day: must be above 0 when there are no streak_bonuses"),
        ({"points_per_day": 5, "bonus": 1}, "checkin.bonus: unknown key"),
        ({"enabled": True}, "checkin.points_per_day: is required"),
    ],
)
def test_a_bad_checkin_section_is_refused_naming_the_field(checkin, message):
    with pytest.raises(InvalidRules, match=message.replace(".", r"\.")):
        parse_rules(1, rules_with(checkin))


# --- once a day, streaks ---------------------------------------------------------------------------


def test_a_check_in_earns_the_days_points_into_a_lot_that_counts_at_once(ledger):
    member_id = with_member(ledger, points=100)
    assert ledger.member_view(member_id).checkin == CheckinStatus(checked_in_today=False, streak=0, next_points=5)
    result = ledger.check_in(member_id, online=True)
    assert result == CheckinResult(day=T0.date(), points=5, bonus=0, streak=1, offline=False)
    view = ledger.member_view(member_id)
    assert view.points == 105 and view.checkin == CheckinStatus(checked_in_today=True, streak=1, next_points=0)
    # The local lot's expiry is not HQ's: it is not listed as an upcoming expiry.
    assert [e.points for e in view.expiries] == [100]
    (event,) = events(ledger)
    assert event.payload == {
        "device_id": "kiosk-01",
        "member_id": member_id,
        "day": "2026-03-01",
        "points": 5,
        "bonus": 0,
        "streak": 1,
        "rules_version": 1,
        "offline": False,
    }


def test_a_second_check_in_the_same_store_day_is_refused_and_the_next_day_extends_the_streak(ledger, clock):
    member_id = with_member(ledger)
    ledger.check_in(member_id, online=True)
    clock.current = T0.replace(hour=23, minute=59)
    with pytest.raises(CheckinRefused) as refused:
        ledger.check_in(member_id, online=True)
    assert refused.value.reason == "already_today"
    clock.current = T0.replace(hour=0, minute=1) + DAY  # a minute past midnight in the store: a new day
    assert ledger.check_in(member_id, online=True).streak == 2
    assert len(events(ledger)) == 2 and ledger.member_view(member_id).points == 10


def test_the_day_is_the_stores_calendar_day_not_utcs(ledger, clock):
    # 01:30 in Shanghai is still the previous day in UTC: the check-in is for the store's day.
    clock.current = dt.datetime(2026, 3, 2, 1, 30, tzinfo=T0.tzinfo)
    member_id = with_member(ledger)
    assert ledger.check_in(member_id, online=True).day == dt.date(2026, 3, 2)


def test_a_missed_day_starts_the_streak_again(ledger, clock):
    member_id = with_member(ledger)
    ledger.check_in(member_id, online=True)
    clock.advance(DAY)
    ledger.check_in(member_id, online=True)
    clock.advance(2 * DAY)
    assert ledger.member_view(member_id).checkin.streak == 0
    assert ledger.check_in(member_id, online=True).streak == 1


def test_the_streak_continues_from_hqs_last_day_so_it_survives_across_kiosks_and_pays_the_bonus(ledger):
    yesterday = (T0 - DAY).date().isoformat()
    member_id = with_member(ledger, checkin_last_day=yesterday, checkin_streak=6)
    assert ledger.member_view(member_id).checkin == CheckinStatus(checked_in_today=False, streak=6, next_points=55)
    result = ledger.check_in(member_id, online=True)
    assert (result.streak, result.points, result.bonus) == (7, 55, 50)


def test_a_member_hq_says_checked_in_today_elsewhere_cannot_check_in_here(ledger):
    member_id = with_member(ledger, checkin_last_day=T0.date().isoformat(), checkin_streak=3)
    assert ledger.member_view(member_id).checkin == CheckinStatus(checked_in_today=True, streak=3, next_points=0)
    with pytest.raises(CheckinRefused, match="already_today"):
        ledger.check_in(member_id, online=True)
    assert events(ledger) == []


def test_no_check_in_when_the_rules_offer_none_or_switch_it_off(ledger):
    member_id = with_member(ledger)
    ledger.apply_rules(2, rules_with({"enabled": False, "points_per_day": 5}))
    assert ledger.member_view(member_id).checkin is None
    with pytest.raises(CheckinRefused, match="not_offered"):
        ledger.check_in(member_id, online=True)


def test_a_bad_checkin_day_from_hq_refuses_the_update(ledger):
    with pytest.raises(InvalidSnapshot, match=r"checkin_last_day must be a day as YYYY-MM-DD"):
        with_member(ledger, checkin_last_day="2026-3-1")


# --- until HQ confirms ------------------------------------------------------------------------------


def test_an_update_before_hq_has_the_check_in_keeps_its_points_and_the_ack_hands_over_to_hqs_lot(ledger):
    member_id = with_member(ledger, points=100)
    ledger.check_in(member_id, online=True)
    (event,) = events(ledger)
    ledger.apply_member_snapshot(2, [member(member_id, points=100)])  # a purchase elsewhere, say
    assert ledger.member_view(member_id).points == 105
    assert [item.pending for item in ledger.points_history(member_id) if item.kind == "checkin"] == [True]
    hq_lot = {"lot_id": "CI-1", "points": 5, "earned_at": T0.isoformat(), "expires_at": (T0 + 365 * DAY).isoformat()}
    lots = [hq_lot, {**hq_lot, "lot_id": "L1", "points": 100}]
    confirmed = member(member_id, lots=lots, checkin_last_day="2026-03-01", checkin_streak=1)
    ledger.apply_member_snapshot(3, [confirmed], [event.event_id])
    view = ledger.member_view(member_id)
    assert view.points == 105 and view.checkin.checked_in_today
    assert [item.kind for item in ledger.points_history(member_id) if item.pending] == []


def test_a_duplicate_hq_refused_leaves_the_member_as_hq_says(ledger):
    """Another kiosk was first today: HQ acknowledges this kiosk's event without giving points."""
    member_id = with_member(ledger, points=100)
    ledger.check_in(member_id, online=False)
    (event,) = events(ledger)
    elsewhere = member(member_id, points=100, checkin_last_day="2026-03-01", checkin_streak=4)
    ledger.apply_member_snapshot(2, [elsewhere], [event.event_id])
    view = ledger.member_view(member_id)
    assert view.points == 100 and view.checkin == CheckinStatus(checked_in_today=True, streak=4, next_points=0)


def test_points_of_a_check_in_can_be_spent_before_hq_confirms_it(ledger):
    member_id = with_member(ledger, points=495)
    ledger.check_in(member_id, online=True)
    voucher = ledger.redeem("i1", member_id, "off-5", online=True)
    assert voucher.value_fen == 500 and ledger.member_view(member_id).points == 0


# --- offline ----------------------------------------------------------------------------------------


def test_an_offline_check_in_works_and_is_marked_offline(ledger):
    member_id = with_member(ledger)
    assert ledger.check_in(member_id, online=False).offline
    (event,) = events(ledger)
    assert event.offline and event.payload["offline"] is True


def test_offline_check_in_points_count_against_the_offline_points_per_day(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=503, redemptions_per_day=3))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=2000)
    ledger.check_in(member_id, online=False)  # 5 offline points
    with pytest.raises(OfflineLimitReached) as limit:
        ledger.redeem("i1", member_id, "off-5", online=False)  # 5 + 500 > 503
    assert limit.value.limit == "points_per_day"


def test_an_offline_check_in_beyond_the_offline_points_per_day_is_refused(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=502, redemptions_per_day=3))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "off-5", online=False)
    with pytest.raises(OfflineLimitReached):
        ledger.check_in(member_id, online=False)  # 500 + 5 > 502
    ledger.check_in(member_id, online=True)  # online, HQ deduplicates: no limit
