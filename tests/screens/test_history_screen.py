"""The points history screen (积分明细): signed points, a label per kind in both locales (a kind a
newer HQ invents gets the generic one), a list that scrolls to its last item and stops there,
and Back and Done in the footer."""

from __future__ import annotations

import pytest

from kiosk.ui_state import Back, Done, MemberHistory
from screens import samples
from screens.history import HistoryScreen, kind_label, signed_points
from screens.text import LOCALES, STRINGS

KINDS = ("earn", "refund", "redemption", "expire", "voucher_cancel", "checkin")


@pytest.mark.parametrize(("value", "text"), [(120, "+120"), (-800, "\u2212800"), (12_000, "+12,000"), (0, "0")])
def test_points_are_signed_with_a_real_minus(value, text):
    assert signed_points(value) == text


@pytest.mark.parametrize("locale", LOCALES)
def test_every_kind_hq_sends_has_its_own_label_in_both_locales(make_ui, locale):
    ui = make_ui(locale=locale)
    ui.show(samples.all_states()["history"])
    labels = {kind: kind_label(ui.screen.ctx, kind) for kind in KINDS}
    assert len(set(labels.values())) == len(KINDS) and all(labels.values())
    assert all(STRINGS[f"history_{kind}"][locale] for kind in KINDS)
    assert kind_label(ui.screen.ctx, "wheel_spin") == STRINGS["history_other"][locale]  # not known yet


@pytest.mark.parametrize("panel", [((800, 480), 0), ((800, 480), 90), ((1280, 800), 0)])
def test_the_list_scrolls_to_its_last_item_and_no_further(make_ui, panel):
    size, rotation = panel
    ui = make_ui(size, rotation=rotation)
    ui.show(samples.all_states()["history"])
    screen = ui.screen
    assert isinstance(screen, HistoryScreen) and screen.list.count == len(samples.history())
    screen.scroll(100_000)
    last = screen.list.row_rect(screen.list.count - 1)
    assert last.bottom <= screen.list.rect.bottom and screen.list.rect.contains(last)
    assert screen.scroll(10) is None  # already at the end: nothing to redraw


def test_back_and_done_are_in_the_footer(make_ui):
    ui = make_ui()
    ui.show(MemberHistory(member=samples.member(), items=(), online=True))
    assert ui.button("back").intent == Back() and ui.button("done").intent == Done()
    assert ui.layout.footer.contains(ui.button("back").rect)
