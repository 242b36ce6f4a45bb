"""The screen shown while the member's card still owes a redemption its write: what is pending,
"hold the card again", and no way to start another redemption."""

from __future__ import annotations

from kiosk.ui_state import Done
from screens import samples
from tests.screens.conftest import tap_button

STATE = samples.all_states()["redemption_pending"]


def test_it_offers_no_rewards_only_done(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATE)
    assert sorted(button.key for button in ui.screen.buttons) == ["done", "locale"]


def test_done_ends_the_visit(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATE)
    ui.draw()
    monotonic.advance(1.0)
    assert tap_button(ui, "done", monotonic) == Done()
