"""An offline kiosk whose clock is known to be wrong refuses redemptions (device.clock_policy).

The whole kiosk is wired by app.bootstrap.build_app over the emulated reader, as in tests/app;
only the clock's synchronisation state is injected (app/clock_trust.py reads the real one on a Pi).
"""

from __future__ import annotations

import pytest

from app.bootstrap import build_app
from app.clock_trust import ClockStatus
from kiosk.config import load_config
from kiosk.model import NoticeKind
from kiosk.ui_state import ChooseReward, ConfirmRedeem, MemberHome, Notice, OpenRewards, VoucherIssued
from tests.app.conftest import wait_for, write_config

pytestmark = pytest.mark.integration


def wired_kiosk(tmp_path, status: ClockStatus, policy: str):
    app = build_app(
        load_config(write_config(tmp_path, device={"clock_policy": policy}), environ={}),
        clock_source=lambda: status,
        package_query=lambda argv: (1, ""),
    )
    app.reader_thread.start()
    wait_for(lambda: app.reader.health.state == "ok", app, "reader ready")
    return app


def redeem_first_affordable(app) -> object:
    app.simulation.tap(1)
    wait_for(lambda: isinstance(app.session.state, MemberHome), app, "member screen")
    app.session.handle(OpenRewards())
    option = next(o for o in app.session.state.options if o.affordable and o.available)
    app.session.handle(ChooseReward(option.reward_id))
    app.session.handle(ConfirmRedeem(app.session.state.intent_id))
    return app.session.state


@pytest.fixture
def unsynced_kiosk(tmp_path):
    app = wired_kiosk(tmp_path, ClockStatus(synchronized=False, rtc_set_clock=False), "sync_or_rtc")
    yield app
    app.close()


def test_offline_redemption_with_an_unsynchronised_clock_shows_the_clock_notice(unsynced_kiosk):
    state = redeem_first_affordable(unsynced_kiosk)
    assert isinstance(state, Notice)
    assert state.kind is NoticeKind.CLOCK_UNTRUSTED


def test_a_refused_redemption_issues_no_voucher_and_takes_no_points(unsynced_kiosk):
    before = unsynced_kiosk.ledger.member_view("M0001").points
    redeem_first_affordable(unsynced_kiosk)
    assert unsynced_kiosk.ledger.vouchers("M0001") == ()
    assert unsynced_kiosk.ledger.member_view("M0001").points == before


def test_the_status_line_says_the_clock_is_not_synchronised(unsynced_kiosk):
    assert unsynced_kiosk.status_text().endswith("clock not synchronised")


@pytest.mark.parametrize(
    ("status", "policy"),
    [
        (ClockStatus(synchronized=False, rtc_set_clock=True), "sync_or_rtc"),  # an RTC set the clock at boot
        (ClockStatus(synchronized=True, rtc_set_clock=None), "sync"),  # synchronised since boot
        (ClockStatus(synchronized=False, rtc_set_clock=False), "auto"),  # auto ignores the clock in simulation
    ],
)
def test_a_trusted_clock_lets_the_offline_redemption_through(tmp_path, status, policy):
    app = wired_kiosk(tmp_path, status, policy)
    try:
        assert isinstance(redeem_first_affordable(app), VoucherIssued)
    finally:
        app.close()


def test_policy_sync_does_not_count_an_rtc(tmp_path):
    app = wired_kiosk(tmp_path, ClockStatus(synchronized=False, rtc_set_clock=True), "sync")
    try:
        assert isinstance(redeem_first_affordable(app), Notice)
    finally:
        app.close()
