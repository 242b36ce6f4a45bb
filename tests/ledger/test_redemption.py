"""Redemption: two phases, idempotent by intent id, restart-safe, with limits and the deny-list."""

from __future__ import annotations

import pytest

from kiosk.ledger import (
    CardCounterMismatch,
    CardDenied,
    InsufficientPoints,
    IntentConflict,
    OfflineLimitReached,
    OfflineLimits,
    RewardUnavailable,
    UnknownIntent,
)
from kiosk.ledger.demo import demo_rules
from kiosk.model import VoucherState
from tests.ledger.conftest import DAY, T0, with_member

UID = bytes.fromhex("04a1b2c3")
OTHER_UID = bytes.fromhex("04ffeedd")


def card(uid=UID, status="active", last_counter=0):
    return {"uid": uid.hex(), "issue_no": 1, "status": status, "last_counter": last_counter}


def test_prepare_reserves_and_asks_for_next_card_counter(ledger):
    member_id = with_member(ledger, points=2000, cards=[card(last_counter=41)])
    pending = ledger.prepare_redemption("i1", member_id, "off-10", UID, online=True)
    assert (pending.card_counter, pending.points_before, pending.points_after) == (42, 2000, 1000)
    # the reservation holds the points back from a second redemption (without the card: the
    # card has one pending already, see test_one_pending_per_card.py)
    ledger.prepare_redemption("i2", member_id, "off-10", None, online=True)
    with pytest.raises(InsufficientPoints):
        ledger.prepare_redemption("i3", member_id, "off-10", None, online=True)


def test_confirm_deducts_points_creates_voucher_records_counter_and_outbox_event(ledger):
    member_id = with_member(ledger, points=2000, cards=[card(last_counter=41)])
    pending = ledger.prepare_redemption("i1", member_id, "off-10", UID, online=True)
    voucher = ledger.confirm_redemption("i1", pending.card_counter)
    assert voucher.state is VoucherState.ISSUED and voucher.value_fen == 1000 and not voucher.offline
    assert voucher.expires_at - voucher.issued_at == 30 * DAY
    assert ledger.member_view(member_id).points == 1000
    assert ledger.card_state(UID).last_counter == 42
    events = ledger.outbox_pending(10)
    assert [e.type for e in events] == ["redemption"]
    assert events[0].payload["voucher_id"] == voucher.voucher_id and events[0].payload["card_counter"] == 42


def test_double_confirm_returns_the_same_voucher(ledger):
    member_id = with_member(ledger, points=2000)
    ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    first = ledger.confirm_redemption("i1", None)
    second = ledger.confirm_redemption("i1", None)
    assert first == second
    assert ledger.member_view(member_id).points == 1000 and ledger.outbox_depth() == 1
    assert len(ledger.vouchers(member_id)) == 1


def test_double_prepare_returns_the_same_pending_redemption(ledger):
    member_id = with_member(ledger, points=2000)
    first = ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    second = ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    assert first == second


def test_redeem_twice_with_one_intent_yields_one_voucher(ledger):
    member_id = with_member(ledger, points=2000)
    assert ledger.redeem("i1", member_id, "off-10", online=True) == ledger.redeem(
        "i1", member_id, "off-10", online=True
    )
    assert ledger.member_view(member_id).points == 1000 and ledger.outbox_depth() == 1


def test_reusing_an_intent_id_for_another_reward_is_refused(ledger):
    member_id = with_member(ledger, points=5000)
    ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    with pytest.raises(IntentConflict):
        ledger.prepare_redemption("i1", member_id, "off-5", None, online=True)


def test_prepared_redemption_survives_a_restart_and_can_be_completed(ledger, open_ledger):
    member_id = with_member(ledger, points=2000, cards=[card(last_counter=7)])
    ledger.prepare_redemption("i1", member_id, "off-10", UID, online=False)
    ledger.close()
    again = open_ledger()
    pending = again.pending_redemption_for_card(UID)
    assert pending is not None and (pending.intent_id, pending.card_counter, pending.online) == ("i1", 8, False)
    voucher = again.confirm_redemption(pending.intent_id, pending.card_counter)
    assert voucher.offline and again.pending_redemption_for_card(UID) is None


def test_confirm_after_restart_returns_the_voucher_confirmed_before(ledger, open_ledger):
    member_id = with_member(ledger, points=2000)
    ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    voucher = ledger.confirm_redemption("i1", None)
    ledger.close()
    again = open_ledger()
    assert again.confirm_redemption("i1", None) == voucher and again.outbox_depth() == 1


def test_abandon_releases_the_reservation(ledger):
    member_id = with_member(ledger, points=1000)
    ledger.prepare_redemption("i1", member_id, "off-10", None, online=True)
    assert ledger.abandon_redemption("i1")
    ledger.prepare_redemption("i2", member_id, "off-10", None, online=True)
    with pytest.raises(IntentConflict):
        ledger.confirm_redemption("i1", None)


def test_abandon_never_undoes_a_confirmed_redemption(ledger):
    member_id = with_member(ledger, points=1000)
    ledger.redeem("i1", member_id, "off-10", online=True)
    assert not ledger.abandon_redemption("i1")
    assert ledger.member_view(member_id).points == 0


def test_confirm_of_unknown_intent_raises(ledger):
    with pytest.raises(UnknownIntent):
        ledger.confirm_redemption("nope", 1)


def test_confirm_with_another_card_counter_is_refused(ledger):
    member_id = with_member(ledger, points=2000, cards=[card(last_counter=3)])
    ledger.prepare_redemption("i1", member_id, "off-10", UID, online=True)
    with pytest.raises(CardCounterMismatch):
        ledger.confirm_redemption("i1", 9)
    assert ledger.member_view(member_id).points == 2000


def test_insufficient_points_are_refused_with_the_amounts(ledger):
    member_id = with_member(ledger, points=400)
    with pytest.raises(InsufficientPoints) as info:
        ledger.prepare_redemption("i1", member_id, "off-5", None, online=True)
    assert (info.value.needed, info.value.available) == (500, 400)


def test_points_lapsing_between_prepare_and_confirm_are_checked_again(ledger, clock):
    from tests.ledger.conftest import SECOND, lot

    member_id = with_member(ledger, lots=[lot("a", 600, T0 + 10 * SECOND)])
    ledger.prepare_redemption("i1", member_id, "off-5", None, online=True)
    clock.advance(20 * SECOND)
    with pytest.raises(InsufficientPoints):
        ledger.confirm_redemption("i1", None)
    assert ledger.outbox_depth() == 0


def test_denied_card_cannot_redeem(ledger):
    member_id = with_member(ledger, points=2000, cards=[card()])
    ledger.deny_card(UID, "rollback")
    with pytest.raises(CardDenied) as info:
        ledger.prepare_redemption("i1", member_id, "off-10", UID, online=True)
    assert info.value.reason == "rollback"


def test_lost_card_cannot_redeem_even_offline(ledger):
    member_id = with_member(ledger, points=2000, cards=[card(status="lost")])
    with pytest.raises(CardDenied):
        ledger.prepare_redemption("i1", member_id, "off-10", UID, online=False)


def test_card_of_another_member_cannot_redeem(ledger):
    with_member(ledger, points=2000, cards=[card()])
    ledger.apply_member_snapshot(2, [{"member_id": "M2", "name": "李四", "lots": [], "cards": []}])
    with pytest.raises(CardDenied):
        ledger.prepare_redemption("i1", "M2", "off-10", UID, online=True)


def test_offline_redemptions_per_day_are_limited(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=100_000, redemptions_per_day=2))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=10_000)
    ledger.redeem("i1", member_id, "off-5", online=False)
    ledger.redeem("i2", member_id, "off-5", online=False)
    with pytest.raises(OfflineLimitReached) as info:
        ledger.redeem("i3", member_id, "off-5", online=False)
    assert info.value.limit == "redemptions_per_day"
    ledger.redeem("i4", member_id, "off-5", online=True)  # online is not limited


def test_offline_points_per_day_are_limited_and_reset_next_day(open_ledger, clock):
    ledger = open_ledger(OfflineLimits(points_per_day=1000, redemptions_per_day=10))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=10_000)
    ledger.redeem("i1", member_id, "off-5", online=False)
    with pytest.raises(OfflineLimitReached) as info:
        ledger.redeem("i2", member_id, "off-10", online=False)
    assert info.value.limit == "points_per_day"
    clock.advance(DAY)
    ledger.redeem("i3", member_id, "off-10", online=False)


def test_offline_redemptions_are_marked_in_voucher_and_outbox(ledger):
    member_id = with_member(ledger, points=2000)
    voucher = ledger.redeem("i1", member_id, "off-10", online=False)
    event = ledger.outbox_pending(1)[0]
    assert voucher.offline and event.offline and event.payload["offline"] is True


def test_tier_restricted_reward_is_refused_below_the_tier(ledger):
    member_id = with_member(ledger, points=5000, spend_fen=0)
    with pytest.raises(RewardUnavailable) as info:
        ledger.prepare_redemption("i1", member_id, "lounge", None, online=True)
    assert info.value.reason == "tier"


def test_per_member_limit_counts_within_its_period(ledger, clock):
    member_id = with_member(ledger, points=10_000, spend_fen=600_000)
    ledger.redeem("i1", member_id, "lounge", online=True)
    with pytest.raises(RewardUnavailable) as info:
        ledger.redeem("i2", member_id, "lounge", online=True)
    assert info.value.reason == "limit"
    clock.advance(31 * DAY)
    ledger.redeem("i3", member_id, "lounge", online=True)


def test_stock_runs_out(ledger):
    doc = demo_rules()
    doc["rewards"][3]["stock"] = 1  # drink
    ledger.apply_rules(2, doc)
    a = with_member(ledger, member_id="A", points=5000)
    b = with_member(ledger, version=2, member_id="B", points=5000)
    ledger.redeem("i1", a, "drink", online=True)
    with pytest.raises(RewardUnavailable) as info:
        ledger.redeem("i2", b, "drink", online=True)
    assert info.value.reason == "stock"


def test_reward_outside_its_dates_is_unavailable(ledger):
    doc = demo_rules()
    doc["rewards"][0]["valid_from"] = (T0 + DAY).isoformat()
    ledger.apply_rules(2, doc)
    member_id = with_member(ledger, points=5000)
    with pytest.raises(RewardUnavailable) as info:
        ledger.redeem("i1", member_id, "off-5", online=True)
    assert info.value.reason == "not_yet"


def test_reward_options_list_affordable_first_then_points_missing(ledger):
    member_id = with_member(ledger, points=900)
    options = ledger.reward_options(member_id)
    assert [o.reward_id for o in options] == ["gift-wrap", "off-5", "drink", "off-10", "lounge", "off-50"]
    assert [o.points_missing for o in options] == [0, 0, 0, 100, 1100, 4100]
    lounge = next(o for o in options if o.reward_id == "lounge")
    assert not lounge.available and lounge.unavailable_reason == "tier"


def test_voucher_shows_as_expired_after_its_validity(ledger, clock):
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "gift-wrap", online=True)
    clock.advance(90 * DAY)
    assert ledger.vouchers(member_id)[0].state is VoucherState.EXPIRED


def test_vouchers_are_listed_newest_first(ledger, clock):
    member_id = with_member(ledger, points=5000)
    ledger.redeem("i1", member_id, "off-5", online=True)
    clock.advance(DAY)
    ledger.redeem("i2", member_id, "off-10", online=True)
    assert [v.value_fen for v in ledger.vouchers(member_id)] == [1000, 500]
