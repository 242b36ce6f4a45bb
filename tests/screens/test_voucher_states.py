"""What My vouchers says about a voucher HQ reported used, cancelled or returned: the state with
its time and store, and why a voucher cannot be used, in both locales."""

from __future__ import annotations

import pytest

from kiosk.model import VoucherState
from screens import samples
from screens.voucher import state_event_text, unusable_reason


@pytest.fixture
def ctx(make_ui):
    def _ctx(locale: str):
        ui = make_ui((800, 480), locale=locale)
        ui.show(samples.all_states()["my_vouchers"])
        return ui.screen.ctx

    return _ctx


def used(**kw):
    return samples.voucher(state=VoucherState.USED, at=samples.STATE_AT, store=samples.STATE_STORE, **kw)


@pytest.mark.parametrize(
    "locale, shown", [("zh_CN", "已使用 03-12 14:05 · store-1"), ("en", "Used 03-12 14:05 · store-1")]
)
def test_a_used_voucher_says_when_and_in_which_store(ctx, locale, shown):
    assert state_event_text(ctx(locale), used()) == shown


def test_a_returned_voucher_says_when_and_where_it_came_back(ctx):
    returned = samples.voucher(state=VoucherState.REVERSED, at=samples.STATE_AT, store=samples.STATE_STORE)
    assert state_event_text(ctx("en"), returned) == "Returned 03-12 14:05 · store-1"


def test_a_cancellation_without_a_store_gives_its_time_alone(ctx):
    cancelled = samples.voucher(state=VoucherState.CANCELLED, at=samples.STATE_AT)
    assert state_event_text(ctx("en"), cancelled) == "Cancelled 03-12 14:05"


def test_a_state_from_an_hq_that_sent_no_time_or_store_adds_nothing(ctx):
    assert state_event_text(ctx("en"), samples.voucher(state=VoucherState.USED)) is None


def test_an_issued_voucher_has_no_event_to_tell(ctx):
    assert state_event_text(ctx("en"), samples.voucher()) is None


@pytest.mark.parametrize(
    "state, why",
    [
        (VoucherState.USED, "It was already used at a till"),
        (VoucherState.CANCELLED, "It was cancelled; the points were returned"),
        (VoucherState.EXPIRED, "It expired on 13 Apr 2026"),
    ],
)
def test_a_voucher_that_cannot_be_used_says_why(ctx, state, why):
    assert unusable_reason(ctx("en"), samples.voucher(state=state)) == why


@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.REVERSED])
def test_a_usable_voucher_has_no_reason_against_it(ctx, state):
    assert unusable_reason(ctx("en"), samples.voucher(state=state)) is None
