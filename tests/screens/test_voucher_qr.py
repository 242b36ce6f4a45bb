"""The QR code on screen decodes to exactly the voucher's signed code."""

from __future__ import annotations

import pytest
from pyzbar.pyzbar import ZBarSymbol, decode

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
