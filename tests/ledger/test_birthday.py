"""Birthday gift (生日礼) and member day (会员日) as rules: the gift is a signed voucher claimed once a
year in a window from the birthday (29 February on 28 February in other years, a window over New
Year counting last year's birthday), refused outside it, after a claim here or one HQ reports from
another kiosk, and offline beyond the day's offline redemptions; member day is shown on its days.

T0 (tests/ledger/conftest.py) is 2026-03-01 10:00 in Shanghai, a Sunday."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import (
    BirthdayGiftRefused,
    InvalidRules,
    InvalidSnapshot,
    OfflineLimitReached,
    OfflineLimits,
    verify_voucher_code,
)
from kiosk.ledger.birthday import window
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.rules import parse_rules
from tests.ledger.conftest import DAY, member, with_member


def claim(ledger, member_id, claim_id="c1", online=True):
    return ledger.claim_birthday_gift(claim_id, member_id, online=online)


def gift_events(ledger):
    return [e for e in ledger.outbox_pending(100) if e.type == "birthday_gift"]


# --- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, change, message",
    [
        ("birthday_gift", {"window_days": 0}, "birthday_gift.window_days: must be at least 1"),
        ("birthday_gift", {"value_fen": -1}, "birthday_gift.value_fen: must be at least 0"),
        ("birthday_gift", {"cake": True}, "birthday_gift.cake: unknown key"),
        ("member_day", {"points_multiplier": 2}, "member_day.points_multiplier: must be a decimal string"),
        ("member_day", {"points_multiplier": "1"}, "member_day.points_multiplier: must be a decimal string above 1"),
        ("member_day", {"weekdays": [8]}, r"member_day.weekdays[0]: must be at most 7"),
        ("member_day", {"weekdays": [], "month_days": []}, "member_day.weekdays: or month_days must name"),
    ],
)
def test_a_bad_occasion_is_refused_naming_the_field(section, change, message):
    document = demo_rules()
    document[section] = {**document[section], **change}
    with pytest.raises(InvalidRules, match=message.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        parse_rules(1, document)


# --- the window ----------------------------------------------------------------------------------


def test_the_window_runs_from_the_birthday_for_the_rules_days():
    assert window("1990-03-01", dt.date(2026, 3, 1), 7) == (2026, dt.date(2026, 3, 7))
    assert window("03-01", dt.date(2026, 3, 7), 7) == (2026, dt.date(2026, 3, 7))
    assert window("1990-03-01", dt.date(2026, 3, 8), 7) is None
    assert window("1990-03-01", dt.date(2026, 2, 28), 7) is None


def test_a_29_february_birthday_opens_on_28_february_in_other_years():
    assert window("2000-02-29", dt.date(2026, 2, 28), 1) == (2026, dt.date(2026, 2, 28))
    assert window("2000-02-29", dt.date(2028, 2, 28), 1) is None
    assert window("2000-02-29", dt.date(2028, 2, 29), 1) == (2028, dt.date(2028, 2, 29))


def test_a_window_over_new_year_is_last_years_gift():
    assert window("1990-12-30", dt.date(2027, 1, 2), 7) == (2026, dt.date(2027, 1, 5))


def test_no_birthday_or_a_broken_one_has_no_window():
    assert window(None, dt.date(2026, 3, 1), 7) is None
    assert window("1990-02-30", dt.date(2026, 3, 1), 7) is None


# --- claiming ------------------------------------------------------------------------------------


def test_in_the_window_the_member_screen_offers_the_gift(ledger):
    member_id = with_member(ledger, birthday="1990-02-27")
    gift = ledger.member_view(member_id).birthday_gift
    assert gift is not None and not gift.claimed and gift.until == dt.date(2026, 3, 5)
    assert gift.value_fen == 3000


def test_outside_the_window_there_is_no_gift_to_claim(ledger):
    member_id = with_member(ledger, birthday="1990-06-01")
    assert ledger.member_view(member_id).birthday_gift is None
    with pytest.raises(BirthdayGiftRefused, match="not_now"):
        claim(ledger, member_id)


def test_the_gift_is_a_signed_voucher_and_an_event(ledger, key):
    member_id = with_member(ledger, birthday="1990-03-01", points=100)
    voucher = claim(ledger, member_id)
    checked = verify_voucher_code(voucher.code, {"kiosk-01": key.public_key()}, voucher.issued_at)
    assert checked.ok and checked.voucher is not None and checked.voucher.reward_id == "birthday-gift"
    assert voucher.value_fen == 3000 and ledger.member_view(member_id).points == 100  # free
    (event,) = gift_events(ledger)
    assert event.payload["year"] == 2026 and event.payload["voucher"]["voucher_code"] == voucher.code
    assert ledger.member_view(member_id).birthday_gift.claimed


def test_the_gift_is_claimed_once_a_year(ledger, clock):
    member_id = with_member(ledger, birthday="1990-03-01")
    claim(ledger, member_id, "c1")
    clock.advance(DAY)
    with pytest.raises(BirthdayGiftRefused, match="claimed"):
        claim(ledger, member_id, "c2")


def test_a_repeated_claim_returns_the_same_voucher(ledger):
    member_id = with_member(ledger, birthday="1990-03-01")
    assert claim(ledger, member_id, "c1") == claim(ledger, member_id, "c1")
    assert len(gift_events(ledger)) == 1


def test_a_gift_hq_recorded_at_another_kiosk_this_year_is_not_offered_again(ledger):
    member_id = with_member(ledger, birthday="1990-03-01", birthday_gift_year=2026)
    assert ledger.member_view(member_id).birthday_gift.claimed
    with pytest.raises(BirthdayGiftRefused, match="claimed"):
        claim(ledger, member_id)


def test_last_years_claim_does_not_use_this_years_gift(ledger):
    member_id = with_member(ledger, birthday="1990-03-01", birthday_gift_year=2025)
    assert claim(ledger, member_id).value_fen == 3000


def test_offline_the_gift_counts_as_an_offline_redemption(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=5000, redemptions_per_day=1))
    ledger.apply_rules(1, demo_rules())
    ledger.apply_member_snapshot(1, [member(birthday="1990-03-01", points=5000)])
    ledger.redeem("r1", "M1", "off-10", online=False)
    with pytest.raises(OfflineLimitReached, match="redemptions_per_day"):
        claim(ledger, "M1", online=False)


def test_a_bad_birthday_gift_year_from_hq_is_refused(ledger):
    with pytest.raises(InvalidSnapshot, match="birthday_gift_year must be a year"):
        ledger.apply_member_snapshot(1, [member(birthday_gift_year="2026")])


# --- member day ----------------------------------------------------------------------------------


def test_member_day_shows_on_its_days_only(ledger, clock):
    member_id = with_member(ledger)
    assert ledger.member_view(member_id).member_day is None  # Sunday 1 March
    clock.advance(3 * DAY)  # Wednesday 4 March
    day = ledger.member_view(member_id).member_day
    assert day is not None and day.points_multiplier == "2" and day.name["en"] == "Member day"
    clock.advance(4 * DAY)  # Sunday 8 March: a month day
    assert ledger.member_view(member_id).member_day is not None
