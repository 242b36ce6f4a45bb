"""每日签到 through the wired kiosk and the real screens, driven by synthetic touches: the member
screen's "Check in" button checks the member in (the ledger's points, the outbox's `checkin`
event), the confirmation says how many points and the streak, OK returns to the member screen,
which now says "checked in today" and offers no second check-in; offline it works the same and
the event is marked offline.

Real ledger, card code, `KioskService` and `Session` (tests/app/inline_kiosk.py) under the real
`KioskUI` and `UiLoop` (SDL dummy driver); only the clock and the touches are the test's.
"""

from __future__ import annotations

from kiosk.model import CheckinStatus
from kiosk.ui_state import CheckedIn, MemberHome
from screens.member import CHECKIN_KEY
from tests.app.test_history_flow import CARD, NOW, kiosk, screen, touch  # noqa: F401 - fixtures shared

__all__ = ["kiosk", "screen"]


def checkin_events(kiosk):
    return [e for e in kiosk.ledger.outbox_pending(100) if e.type == "checkin"]


def test_check_in_from_the_member_screen_and_back(kiosk, screen):
    ui, loop, monotonic = screen
    kiosk.session.set_online(True)
    assert isinstance(kiosk.tap(), MemberHome)
    ui.show(kiosk.session.state)
    loop.step(max_wait_s=0)
    before = ui.state.member.points
    assert ui.state.member.checkin == CheckinStatus(checked_in_today=False, streak=0, next_points=5)

    touch(ui, loop, monotonic, ui.button(CHECKIN_KEY).rect.center)
    state = ui.state
    assert isinstance(state, CheckedIn)
    assert (state.result.points, state.result.streak, state.result.bonus, state.result.offline) == (5, 1, 0, False)
    assert state.member.points == before + 5 and state.member.checkin.checked_in_today
    (event,) = checkin_events(kiosk)
    assert event.payload["member_id"] == CARD.member_id and event.payload["day"] == NOW.date().isoformat()

    touch(ui, loop, monotonic, ui.button("back").rect.center)  # OK
    assert isinstance(ui.state, MemberHome) and ui.state.member.checkin.checked_in_today
    assert CHECKIN_KEY not in [b.key for b in ui.screen.buttons]  # once a day: no second button
    assert ui.state.member.points == before + 5


def test_an_offline_check_in_works_and_its_event_says_offline(kiosk, screen):
    ui, loop, monotonic = screen
    kiosk.session.set_online(False)
    kiosk.tap()
    ui.show(kiosk.session.state)
    touch(ui, loop, monotonic, ui.button(CHECKIN_KEY).rect.center)
    assert isinstance(ui.state, CheckedIn) and ui.state.result.offline
    (event,) = checkin_events(kiosk)
    assert event.offline and event.payload["offline"] is True
