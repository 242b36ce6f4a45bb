"""Session time rules: sessions and notices end by themselves; a reader fault stays until fixed.

The session runs over the real KioskService (ledger + card checks) of a wired kiosk; only its
monotonic clock is a test clock, so time can pass without waiting.
"""

from __future__ import annotations

import pytest

from kiosk.model import NoticeKind
from kiosk.session import NOTICE_SECONDS, Session
from kiosk.ui_state import Idle, MemberHome, Notice, OpenRewards, Rewards
from tests.app.conftest import wait_for

pytestmark = pytest.mark.integration


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def session_and_clock(kiosk_app):
    clock = FakeMonotonic()
    session = Session(kiosk_app.service, store_name="Test store", inactivity_timeout_s=30, monotonic=clock)
    return kiosk_app, session, clock


def read_card(app, session, key: int) -> None:
    app.simulation.tap(key)
    event = None
    while event is None:
        wait_for(lambda: not app.reader_events.empty(), app, f"card {key}")
        candidate = app.reader_events.get()
        if type(candidate).__name__ == "CardPresented":
            event = candidate
    session.card_read(event.result, event.uid)


def test_member_session_ends_after_the_inactivity_timeout(session_and_clock):
    app, session, clock = session_and_clock
    read_card(app, session, 1)
    assert isinstance(session.state, MemberHome)
    clock.t += 29.9
    session.tick()
    assert isinstance(session.state, MemberHome)
    clock.t += 0.2
    session.tick()
    assert isinstance(session.state, Idle)
    assert session.member_id is None


def test_a_touch_restarts_the_inactivity_timer(session_and_clock):
    app, session, clock = session_and_clock
    read_card(app, session, 1)
    clock.t += 25
    session.handle(OpenRewards())
    clock.t += 25
    session.tick()
    assert isinstance(session.state, Rewards)


def test_a_notice_clears_itself_sooner_than_a_session(session_and_clock):
    app, session, clock = session_and_clock
    read_card(app, session, 5)
    assert isinstance(session.state, Notice) and session.state.kind is NoticeKind.CARD_BLOCKED
    clock.t += NOTICE_SECONDS
    session.tick()
    assert isinstance(session.state, Idle)


def test_reader_fault_notice_stays_until_the_reader_recovers(session_and_clock):
    _, session, clock = session_and_clock
    session.reader_health(False, "BusFault")
    clock.t += 3600
    session.tick()
    assert isinstance(session.state, Notice) and session.state.kind is NoticeKind.READER_FAULT
    session.reader_health(True)
    assert isinstance(session.state, Idle)
