"""Voucher states HQ sends in member updates: used, cancelled, reversed (usable again), with when
and where the till did it; what the member's kiosk then shows (docs/vouchers.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import InvalidSnapshot
from kiosk.model import VoucherState
from tests.ledger.conftest import DAY, T0, TZ, member, with_member

AT = "2026-03-01T14:05:00+08:00"


@pytest.fixture
def issued(ledger):
    """(member id, voucher id) of a voucher this kiosk issued."""
    member_id = with_member(ledger, points=2000)
    return member_id, ledger.redeem("i1", member_id, "off-10", online=True).voucher_id


def hq_update(ledger, version: int, **voucher) -> None:
    ledger.apply_member_snapshot(version, [member(points=2000, vouchers=[voucher])])


def test_a_voucher_used_at_a_till_shows_when_and_in_which_store(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="used", at=AT, store_id="store-1", till_id="till-3")
    view = ledger.voucher(voucher_id)
    assert (view.state, view.state_at, view.state_store, view.state_till) == (
        VoucherState.USED,
        dt.datetime(2026, 3, 1, 14, 5, tzinfo=TZ),
        "store-1",
        "till-3",
    )


def test_times_are_handed_out_in_the_store_timezone(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="used", at="2026-03-01T06:05:00+00:00")
    assert ledger.voucher(voucher_id).state_at.utcoffset() == dt.timedelta(hours=8)


def test_a_state_from_an_older_hq_has_no_time_or_place(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="cancelled")
    view = ledger.voucher(voucher_id)
    assert (view.state, view.state_at, view.state_store, view.state_till) == (VoucherState.CANCELLED, None, None, None)


def test_a_later_state_replaces_the_earlier_ones_place(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="used", at=AT, store_id="store-1", till_id="till-3")
    hq_update(ledger, 3, voucher_id=voucher_id, state="reversed", at=AT, store_id="store-1")
    assert ledger.voucher(voucher_id).state_till is None


def test_a_reversed_voucher_is_usable_again(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="reversed", at=AT, store_id="store-1", till_id="till-3")
    view = ledger.voucher(voucher_id)
    assert view.state is VoucherState.REVERSED and view.state.usable


def test_a_reversed_voucher_still_expires(ledger, issued, clock):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="reversed", at=AT)
    clock.advance(400 * DAY)
    assert ledger.voucher(voucher_id).state is VoucherState.EXPIRED


@pytest.mark.parametrize(
    "bad",
    [
        {"at": "2026-03-01T14:05:00"},  # no offset: which 14:05?
        {"at": "yesterday"},
        {"at": 1772345100},
        {"store_id": ""},
        {"store_id": "s" * 65},
        {"till_id": 3},
        {"state": "consumed"},
    ],
)
def test_a_malformed_voucher_state_refuses_the_whole_update(ledger, issued, bad):
    _, voucher_id = issued
    with pytest.raises(InvalidSnapshot, match=r"vouchers\[0\]"):
        hq_update(ledger, 2, **({"voucher_id": voucher_id, "state": "used"} | bad))
    assert ledger.voucher(voucher_id).state is VoucherState.ISSUED and ledger.member_snapshot_version() == 1


def test_state_changes_of_another_members_voucher_are_ignored(ledger, issued):
    _, voucher_id = issued
    ledger.apply_member_snapshot(
        2, [member("M2", vouchers=[{"voucher_id": voucher_id, "state": "used", "at": AT, "store_id": "store-1"}])]
    )
    assert ledger.voucher(voucher_id).state is VoucherState.ISSUED


def test_the_issue_time_is_not_touched(ledger, issued):
    _, voucher_id = issued
    hq_update(ledger, 2, voucher_id=voucher_id, state="used", at=AT)
    assert ledger.voucher(voucher_id).issued_at == T0
