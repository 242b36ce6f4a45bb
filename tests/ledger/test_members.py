"""Members: masked names, birthdays, views built from the snapshot."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import UnknownMember
from kiosk.ledger.members import birthday_today, mask_name
from tests.ledger.conftest import T0, with_member


@pytest.mark.parametrize(
    "name, masked",
    [
        ("张三明", "张*明"),
        ("欧阳小明", "欧**明"),
        ("张三", "张*"),
        ("张", "张"),
        ("Li Xiaoming", "L* X*******"),
        ("", "*"),
    ],
)
def test_names_are_masked(name, masked):
    assert mask_name(name) == masked


def test_member_view_never_contains_the_full_name(ledger):
    member_id = with_member(ledger, name="王小明")
    assert ledger.member_view(member_id).masked_name == "王*明"


def test_birthday_today_in_the_store_timezone(ledger, clock):
    member_id = with_member(ledger, birthday="1990-03-01")
    clock.current = dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)  # 00:00 on 1 March in Shanghai
    assert ledger.member_view(member_id).birthday_today


def test_birthday_on_29_february_is_celebrated_on_28th_in_other_years():
    assert birthday_today("2000-02-29", dt.date(2026, 2, 28))
    assert not birthday_today("2000-02-29", dt.date(2028, 2, 28))
    assert birthday_today("2000-02-29", dt.date(2028, 2, 29))


def test_view_carries_balance_tier_and_rules_version(ledger):
    member_id = with_member(ledger, balance_fen=12_345, spend_fen=600_000, points=10)
    view = ledger.member_view(member_id)
    assert (view.balance_fen, view.tier.code, view.rules_version, view.as_of) == (12_345, "gold", 1, T0)
    assert view.as_of.tzinfo is not None


def test_unknown_member_raises(ledger):
    with pytest.raises(UnknownMember):
        ledger.member_view("nobody")
