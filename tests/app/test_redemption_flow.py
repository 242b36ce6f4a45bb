"""A shopper's visit through the wired kiosk: tap, member, redeem; pulled cards; double confirms."""

from __future__ import annotations

import pytest

from kiosk.model import NoticeKind
from kiosk.ui_state import (
    ChooseReward,
    Confirm,
    ConfirmRedeem,
    Done,
    Idle,
    MemberHome,
    Notice,
    OpenRewards,
    VoucherIssued,
)
from tests.app.conftest import wait_for

pytestmark = pytest.mark.integration


def tap(app, key: int) -> None:
    """Put card `key` on the reader and wait until the session has reacted to reading it."""
    before = app.session.state
    app.simulation.tap(key)
    wait_for(
        lambda: app.session.state is not before and isinstance(app.session.state, (MemberHome, Notice, VoucherIssued)),
        app,
        f"card {key} read",
    )


def take_away(app) -> None:
    app.simulation.remove()
    wait_for(lambda: app.reader.present_uid is None, app, "card removed")


def open_confirm(app) -> Confirm:
    app.session.handle(OpenRewards())
    option = next(o for o in app.session.state.options if o.affordable and o.available)
    app.session.handle(ChooseReward(option.reward_id))
    assert isinstance(app.session.state, Confirm)
    return app.session.state


def issued_vouchers(app, member_id: str = "M0001") -> list:
    return [v for v in app.ledger.vouchers(member_id)]


def test_tap_shows_the_members_ledger_data(kiosk_app):
    tap(kiosk_app, 1)
    state = kiosk_app.session.state
    assert isinstance(state, MemberHome)
    assert state.member.member_id == "M0001"
    assert state.member.points == kiosk_app.ledger.member_view("M0001").points
    assert "*" in state.member.masked_name


def test_confirm_issues_one_voucher_and_one_outbox_event(kiosk_app):
    tap(kiosk_app, 1)
    confirm = open_confirm(kiosk_app)
    points_before = confirm.member.points
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    state = kiosk_app.session.state
    assert isinstance(state, VoucherIssued)
    assert state.member.points == points_before - confirm.option.cost_points
    assert len(issued_vouchers(kiosk_app)) == 1
    events = kiosk_app.ledger.outbox_pending(100)
    assert [e.type for e in events].count("redemption") == 1


def test_a_second_confirm_of_the_same_intent_changes_nothing(kiosk_app):
    tap(kiosk_app, 1)
    confirm = open_confirm(kiosk_app)
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    # and the service itself, asked again with the same intent id, returns the same voucher
    again = kiosk_app.service.redeem(
        confirm.intent_id, "M0001", confirm.option.reward_id, kiosk_app.session._card_uid, False
    )
    assert [v.voucher_id for v in issued_vouchers(kiosk_app)] == [again.voucher_id]


def test_card_taken_away_before_confirm_is_told_and_finished_on_the_next_tap(kiosk_app):
    tap(kiosk_app, 1)
    confirm = open_confirm(kiosk_app)
    take_away(kiosk_app)
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    state = kiosk_app.session.state
    assert isinstance(state, Notice) and state.kind is NoticeKind.CARD_REMOVED_TOO_SOON
    assert issued_vouchers(kiosk_app) == []
    tap(kiosk_app, 1)
    assert isinstance(kiosk_app.session.state, VoucherIssued)
    assert len(issued_vouchers(kiosk_app)) == 1


@pytest.mark.parametrize("frames", [0, 1, 2, 4, 6, 9, 12])
def test_card_pulled_mid_write_ends_with_exactly_one_voucher(kiosk_app, frames):
    tap(kiosk_app, 1)
    confirm = open_confirm(kiosk_app)
    card = kiosk_app.simulation.cards[1]
    kiosk_app.simulation.field.remove_after_frames(card, frames)
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    first = kiosk_app.session.state
    assert isinstance(first, (VoucherIssued, Notice))
    if isinstance(first, Notice):
        assert first.kind is NoticeKind.CARD_REMOVED_TOO_SOON
        assert issued_vouchers(kiosk_app) == []
    kiosk_app.simulation.remove()
    wait_for(lambda: kiosk_app.reader.present_uid is None, kiosk_app, "card gone")
    kiosk_app.session.handle(Done())
    tap(kiosk_app, 1)
    assert isinstance(kiosk_app.session.state, (MemberHome, VoucherIssued))
    assert len(issued_vouchers(kiosk_app)) == 1
    assert kiosk_app.ledger.card_state(card.uid).last_counter == 1


def test_lost_card_is_blocked_while_offline_and_shows_no_member_data(kiosk_app):
    tap(kiosk_app, 5)
    state = kiosk_app.session.state
    assert isinstance(state, Notice) and state.kind is NoticeKind.CARD_BLOCKED
    assert kiosk_app.session.member_id is None


def test_replacement_card_of_the_same_member_works(kiosk_app):
    tap(kiosk_app, 6)
    assert isinstance(kiosk_app.session.state, MemberHome)
    assert kiosk_app.session.state.member.member_id == "M0005"


def test_card_from_another_shop_is_not_a_member_card(kiosk_app):
    tap(kiosk_app, 8)
    state = kiosk_app.session.state
    assert isinstance(state, Notice) and state.kind is NoticeKind.NOT_A_MEMBER_CARD


def test_done_clears_the_member_from_the_session(kiosk_app):
    tap(kiosk_app, 1)
    kiosk_app.session.handle(Done())
    assert isinstance(kiosk_app.session.state, Idle)
    assert kiosk_app.session.member_id is None


def test_restored_old_card_image_is_rejected_and_deny_listed(kiosk_app):
    card = kiosk_app.simulation.cards[1]
    old_image = [card.block(b) for b in range(64)]
    tap(kiosk_app, 1)
    confirm = open_confirm(kiosk_app)
    kiosk_app.session.handle(ConfirmRedeem(confirm.intent_id))
    assert isinstance(kiosk_app.session.state, VoucherIssued)
    take_away(kiosk_app)
    kiosk_app.session.handle(Done())
    for block, data in enumerate(old_image):  # the shopper restores a dump taken before redeeming
        card.set_block(block, data)
    tap(kiosk_app, 1)
    state = kiosk_app.session.state
    assert isinstance(state, Notice) and state.kind is NoticeKind.CARD_REJECTED
    assert kiosk_app.ledger.denial(card.uid) == "rollback"
