"""The QR code on screen decodes to exactly the voucher's signed code, and only a usable voucher
(issued, or returned by the till) shows one: a used or cancelled voucher never shows a code."""

from __future__ import annotations

import pytest
from pyzbar.pyzbar import ZBarSymbol, decode

from kiosk.model import VoucherState
from kiosk.ui_state import MyVouchers, VoucherIssued
from screens import samples
from tests.screens.conftest import tap
from tests.screens.imagecompare import to_image


def decoded(ui) -> list[str]:
    return [r.data.decode("ascii") for r in decode(to_image(ui.logical_surface), symbols=[ZBarSymbol.QRCODE])]


@pytest.mark.parametrize("panel", [((800, 480), 0), ((800, 480), 90), ((1280, 800), 0)])
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_voucher_qr_decodes_to_the_voucher_code(make_ui, panel, locale):
    state = samples.all_states()["voucher"]
    ui = make_ui(panel[0], rotation=panel[1], locale=locale)
    ui.show(state)
    ui.draw()
    assert decoded(ui) == [state.voucher.code]


def test_my_vouchers_shows_the_qr_of_the_voucher_tapped(make_ui, monotonic):
    state = samples.all_states()["my_vouchers"]
    ui = make_ui((800, 480))
    ui.show(state)
    ui.draw()
    first = ui.screen.vouchers[0]
    assert decoded(ui) == [first.code]
    monotonic.advance(1.0)
    second = ui.screen.vouchers[1]
    assert tap(ui, ui.screen.list.row_rect(1).center, monotonic) is None
    ui.draw()
    assert decoded(ui) == [second.code]


def test_a_used_voucher_shows_no_qr(make_ui, monotonic):
    state = samples.all_states()["my_vouchers"]
    ui = make_ui((800, 480))
    ui.show(state)
    ui.draw()
    used_index = next(i for i, v in enumerate(ui.screen.vouchers) if v.state.value == "used")
    monotonic.advance(1.0)
    tap(ui, ui.screen.list.row_rect(used_index).center, monotonic)
    ui.draw()
    assert decoded(ui) == []


def _tap_first(ui, monotonic, state: VoucherState) -> None:
    index = next(i for i, v in enumerate(ui.screen.vouchers) if v.state is state)
    monotonic.advance(1.0)
    tap(ui, ui.screen.list.row_rect(index).center, monotonic)
    ui.draw()


def test_a_cancelled_voucher_shows_no_qr(make_ui, monotonic):
    ui = make_ui((800, 480), rotation=90)
    ui.show(samples.all_states()["my_vouchers_used"])
    ui.draw()
    _tap_first(ui, monotonic, VoucherState.CANCELLED)
    assert decoded(ui) == []


def test_a_list_of_used_vouchers_opens_on_no_qr_at_all(make_ui):
    ui = make_ui((800, 480))
    ui.show(samples.all_states()["my_vouchers_used"])
    ui.draw()
    assert ui.screen.vouchers[0].state is VoucherState.USED
    assert decoded(ui) == []


def test_a_voucher_returned_by_the_till_shows_its_qr_again(make_ui, monotonic):
    state = samples.all_states()["my_vouchers"]
    ui = make_ui((800, 480))
    ui.show(state)
    ui.draw()
    _tap_first(ui, monotonic, VoucherState.REVERSED)
    returned = next(v for v in state.vouchers if v.state is VoucherState.REVERSED)
    assert decoded(ui) == [returned.code]


def test_the_voucher_screen_shows_no_qr_for_a_voucher_already_used(make_ui):
    # A replayed redemption hands back the stored voucher, which HQ may have marked used since.
    used = samples.voucher(state=VoucherState.USED, at=samples.STATE_AT, store=samples.STATE_STORE)
    ui = make_ui((800, 480))
    ui.show(VoucherIssued(member=samples.member(), voucher=used, online=True))
    ui.draw()
    assert decoded(ui) == []


def test_an_expired_voucher_shows_no_qr(make_ui):
    expired = samples.voucher(state=VoucherState.EXPIRED)
    ui = make_ui((800, 480))
    ui.show(MyVouchers(member=samples.member(), vouchers=(expired,), online=True))
    ui.draw()
    assert decoded(ui) == []
