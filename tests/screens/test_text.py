"""Money, points, dates and the UI strings, in both locales."""

from __future__ import annotations

import datetime as dt
import string
from zoneinfo import ZoneInfo

import pytest

from screens.text import (
    LOCALES,
    STRINGS,
    clock_date_text,
    date_text,
    discount_rate,
    money,
    points,
    short_datetime_text,
    time_text,
    tr,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "fen, shown",
    [(0, "¥0.00"), (5, "¥0.05"), (123450, "¥1,234.50"), (100_000_000, "¥1,000,000.00"), (-1999, "-¥19.99")],
)
def test_money_is_yuan_with_thousands_separators_and_two_decimals(fen, shown):
    assert money(fen) == shown


def test_points_have_thousands_separators():
    assert points(12860) == "12,860"


def test_dates_are_shown_in_the_store_timezone_not_utc():
    late_utc = dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC)  # 01:30 on 1 April in Shanghai
    assert date_text(late_utc, SHANGHAI, "zh_CN") == "2026年4月1日"
    assert date_text(late_utc, SHANGHAI, "en") == "1 Apr 2026"
    assert time_text(late_utc, SHANGHAI) == "01:30"


def test_when_a_voucher_was_used_is_month_day_and_store_time():
    late_utc = dt.datetime(2026, 3, 31, 17, 5, tzinfo=dt.UTC)  # 01:05 on 1 April in Shanghai
    assert short_datetime_text(late_utc, SHANGHAI) == "04-01 01:05"


def test_clock_date_line_names_the_weekday_in_each_language():
    saturday = dt.datetime(2026, 3, 14, 9, 41, tzinfo=SHANGHAI)
    assert clock_date_text(saturday, SHANGHAI, "zh_CN") == "3月14日 星期六"
    assert clock_date_text(saturday, SHANGHAI, "en") == "Sat 14 Mar"


def test_naive_datetimes_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        date_text(dt.datetime(2026, 1, 1), SHANGHAI, "en")


@pytest.mark.parametrize("pct, zh, en", [(90, "9折", "10%"), (85, "8.5折", "15%"), (95, "9.5折", "5%")])
def test_discounts_read_the_way_each_audience_expects(pct, zh, en):
    assert discount_rate(pct, "zh_CN") == zh
    assert discount_rate(pct, "en") == en


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_exists_in_both_locales_with_the_same_placeholders(key):
    fields = {}
    for locale in LOCALES:
        text = STRINGS[key].get(locale)
        assert text, f"{key} has no {locale} text"
        fields[locale] = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    assert fields["zh_CN"] == fields["en"]


def test_tr_fills_placeholders():
    assert tr("points_missing", "en", points="120") == "120 pts short"
    assert tr("points_missing", "zh_CN", points="120") == "还差 120 积分"
