"""The prize wheel (幸运大转盘) in the ledger: rules validated by field, an auditable draw (the
event alone decides the segment), one free spin a store day fleet-wide then paid spins at the
rules' price, prizes as points in a local lot or a signed voucher like a redemption's, per-kiosk
stock that never goes below zero, offline limits, and idempotent spins.

The demo wheel's weights (out of 100, in order): thanks 50, pts-10 30, pts-50 8, tea 10 (a
voucher, stock 20 per kiosk), off-20 2 (a voucher, stock 5): `draw % 100` picks the segment."""

from __future__ import annotations

import pytest

from kiosk.ledger import (
    InsufficientPoints,
    InvalidRules,
    OfflineLimitReached,
    OfflineLimits,
    WheelRefused,
    verify_voucher_code,
)
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.rules import parse_rules
from kiosk.ledger.wheel import DRAW_BOUND, pick
from kiosk.model import VoucherState
from tests.ledger.conftest import DAY, member, with_member

THANKS, PTS_10, PTS_50, TEA, OFF_20 = 0, 50, 80, 88, 98


def spins(ledger):
    return [e for e in ledger.outbox_pending(100) if e.type == "wheel_spin"]


def rules_with(wheel):
    document = demo_rules()
    document["wheel"] = wheel
    return document


def spin(ledger, member_id, n=1, *, draw=THANKS, online=True):
    return ledger.spin_wheel(f"spin-{member_id}-{n}", member_id, online=online, draw=draw)


# --- rules ---------------------------------------------------------------------------------------


def test_rules_without_a_wheel_offer_none(ledger):
    document = demo_rules()
    del document["wheel"]
    assert parse_rules(1, document).wheel is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"prizes": []}, "wheel.prizes: must be a list of 2 to 12 prizes"),
        ({"free_spins_per_day": -1}, "wheel.free_spins_per_day: must be at least 0"),
        ({"free_spins_per_day": 0, "spin_cost_points": 0}, "wheel.free_spins_per_day: is 0 and there are no paid"),
        ({"spin_cost_points": "5"}, "wheel.spin_cost_points: must be an integer"),
        ({"jackpot": 1}, "wheel.jackpot: unknown key"),
    ],
)
def test_a_bad_wheel_is_refused_naming_the_field(change, message):
    wheel = {**demo_rules()["wheel"], **change}
    with pytest.raises(InvalidRules, match=message.replace(".", r"\.")):
        parse_rules(1, rules_with(wheel))


@pytest.mark.parametrize(
    "prize, message",
    [
        ({"kind": "car"}, "wheel.prizes[0].kind: must be one of nothing, points, voucher"),
        ({"weight": 0}, "wheel.prizes[0].weight: must be at least 1"),
        ({"kind": "points"}, "wheel.prizes[0].points: is required"),
        ({"kind": "nothing", "points": 5}, "wheel.prizes[0].points: unknown key"),
        ({"kind": "voucher", "value_fen": 100}, "wheel.prizes[0].validity_days: is required"),
        ({"name": {"en": "x"}}, "wheel.prizes[0].name.zh_CN: is required"),
    ],
)
def test_a_bad_prize_is_refused_naming_the_field(prize, message):
    wheel = demo_rules()["wheel"]
    wheel["prizes"][0] = {**wheel["prizes"][0], **prize}
    with pytest.raises(InvalidRules, match=message.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        parse_rules(1, rules_with(wheel))


def test_two_prizes_with_one_id_are_refused():
    wheel = demo_rules()["wheel"]
    wheel["prizes"][1]["prize_id"] = wheel["prizes"][0]["prize_id"]
    with pytest.raises(InvalidRules, match=r"wheel\.prizes\[1\]\.prize_id: duplicate prize id"):
        parse_rules(1, rules_with(wheel))


# --- the draw ------------------------------------------------------------------------------------


def test_the_draw_picks_the_segment_whose_weight_interval_holds_it():
    weights = [("a", 50), ("b", 30), ("c", 20)]
    assert [pick(d, weights) for d in (0, 49, 50, 79, 80, 99, 100, 150)] == [0, 0, 1, 1, 2, 2, 0, 1]


def test_a_spin_records_the_draw_and_the_weights_so_the_event_alone_decides_the_prize(ledger):
    member_id = with_member(ledger, points=100)
    result = spin(ledger, member_id, draw=PTS_10 + 200)
    assert (result.prize_id, result.points, result.free, result.cost_points) == ("pts-10", 10, True, 0)
    (event,) = spins(ledger)
    weights = [tuple(w) for w in event.payload["weights"]]
    assert weights == [("thanks", 50), ("pts-10", 30), ("pts-50", 8), ("tea", 10), ("off-20", 2)]
    assert weights[pick(event.payload["draw"], weights)][0] == event.payload["prize_id"] == "pts-10"
    assert event.payload["free"] is True and event.payload["rules_version"] == 1


def test_a_draw_outside_the_range_is_refused(ledger):
    member_id = with_member(ledger, points=100)
    with pytest.raises(ValueError, match="draw must be"):
        spin(ledger, member_id, draw=DRAW_BOUND)


# --- free and paid spins -------------------------------------------------------------------------


def test_the_first_spin_of_the_day_is_free_and_the_next_costs_the_rules_price(ledger):
    member_id = with_member(ledger, points=100)
    assert ledger.member_view(member_id).wheel.free_left == 1
    spin(ledger, member_id, 1)
    status = ledger.wheel_status(member_id, online=True)
    assert (status.free_left, status.cost_points, status.can_spin) == (0, 5, True)
    second = spin(ledger, member_id, 2)
    assert (second.free, second.cost_points) == (False, 5)
    assert ledger.member_view(member_id).points == 95


def test_the_free_spin_comes_back_the_next_store_day(ledger, clock):
    member_id = with_member(ledger, points=100)
    spin(ledger, member_id, 1)
    clock.advance(DAY)
    assert spin(ledger, member_id, 2).free


def test_a_free_spin_hq_counted_at_another_kiosk_today_is_used_here_too(ledger):
    member_id = with_member(ledger, points=100, wheel_day="2026-03-01", wheel_free_used=1)
    status = ledger.wheel_status(member_id, online=True)
    assert (status.free_left, status.cost_points) == (0, 5)


def test_hq_counting_this_kiosks_free_spin_does_not_count_it_twice(ledger):
    member_id = with_member(ledger, points=100)
    spin(ledger, member_id, 1)
    (event,) = spins(ledger)
    ledger.apply_member_snapshot(
        2, [member(points=100, wheel_day="2026-03-01", wheel_free_used=1)], acknowledged_event_ids=[event.event_id]
    )
    assert ledger.wheel_status(member_id, online=True).free_left == 0
    assert spin(ledger, member_id, 2).cost_points == 5


def test_a_paid_spin_without_the_points_is_refused(ledger):
    member_id = with_member(ledger, points=3)
    spin(ledger, member_id, 1)
    assert ledger.wheel_status(member_id, online=True).reason == "points"
    with pytest.raises(InsufficientPoints):
        spin(ledger, member_id, 2)


def test_paid_spins_stop_at_the_days_limit(ledger):
    member_id = with_member(ledger, points=1000)
    for n in range(1, 12):  # one free, ten paid
        spin(ledger, member_id, n)
    assert ledger.wheel_status(member_id, online=True).reason == "paid_limit"
    with pytest.raises(WheelRefused, match="paid_limit"):
        spin(ledger, member_id, 12)


def test_the_same_spin_id_twice_spins_once(ledger):
    member_id = with_member(ledger, points=100)
    first = spin(ledger, member_id, 1, draw=PTS_10)
    again = spin(ledger, member_id, 1, draw=THANKS)
    assert again == first and len(spins(ledger)) == 1
    assert ledger.member_view(member_id).points == 110


def test_a_wheel_switched_off_refuses_spins(open_ledger):
    ledger = open_ledger()
    ledger.apply_rules(1, rules_with({**demo_rules()["wheel"], "enabled": False}))
    member_id = with_member(ledger, points=100)
    assert ledger.member_view(member_id).wheel is None
    with pytest.raises(WheelRefused, match="not_offered"):
        spin(ledger, member_id)


# --- prizes --------------------------------------------------------------------------------------


def test_points_won_count_at_once_and_stay_until_hq_confirms_them(ledger):
    member_id = with_member(ledger, points=100)
    spin(ledger, member_id, draw=PTS_50)
    assert ledger.member_view(member_id).points == 150
    # A snapshot that does not acknowledge the spin keeps the local lot.
    ledger.apply_member_snapshot(2, [member(points=100)])
    assert ledger.member_view(member_id).points == 150
    (event,) = spins(ledger)
    # HQ's state has it: its own lot replaces the local one.
    ledger.apply_member_snapshot(
        3,
        [member(points=100, lots=None, wheel_day="2026-03-01", wheel_free_used=1) | {"lots": []}],
        acknowledged_event_ids=[event.event_id],
    )
    assert ledger.member_view(member_id).points == 0


def test_a_voucher_prize_is_a_signed_voucher_like_a_redemptions(ledger, key):
    member_id = with_member(ledger, points=100)
    result = spin(ledger, member_id, draw=TEA)
    assert result.kind == "voucher" and result.voucher is not None
    assert result.voucher.value_fen == 1800 and result.voucher.state is VoucherState.ISSUED
    checked = verify_voucher_code(result.voucher.code, {"kiosk-01": key.public_key()}, result.voucher.issued_at)
    assert checked.ok and checked.voucher is not None and checked.voucher.reward_id == "wheel:tea"
    assert [v.voucher_id for v in ledger.vouchers(member_id)] == [result.voucher.voucher_id]
    (event,) = spins(ledger)
    assert event.payload["voucher"]["voucher_code"] == result.voucher.code


def test_a_prize_out_of_this_kiosks_stock_drops_out_of_the_draw(ledger, clock):
    member_id = with_member(ledger, points=10_000)
    for n in range(5):  # off-20 has a stock of 5 per kiosk
        spin(ledger, member_id, n, draw=OFF_20)
        clock.advance(DAY)
    status = ledger.wheel_status(member_id, online=True)
    assert [s.available for s in status.segments] == [True, True, True, True, False]
    # The same draw now falls among the prizes left: weights 50/30/8/10 over 98.
    result = spin(ledger, member_id, 9, draw=OFF_20)
    assert result.prize_id == "thanks"
    assert [w[0] for w in spins(ledger)[-1].payload["weights"]] == ["thanks", "pts-10", "pts-50", "tea"]


def test_stock_counts_per_rules_version(ledger, clock):
    member_id = with_member(ledger, points=10_000)
    for n in range(5):
        spin(ledger, member_id, n, draw=OFF_20)
        clock.advance(DAY)
    ledger.apply_rules(2, demo_rules())
    assert ledger.wheel_status(member_id, online=True).segments[-1].available


# --- offline -------------------------------------------------------------------------------------


def test_offline_a_member_gets_the_offline_spins_of_the_day(ledger):
    member_id = with_member(ledger, points=100)
    result = spin(ledger, member_id, 1, online=False)
    assert result.offline and spins(ledger)[0].offline
    assert ledger.wheel_status(member_id, online=False).reason == "offline_limit"
    with pytest.raises(WheelRefused, match="offline_limit"):
        spin(ledger, member_id, 2, online=False)


def test_offline_a_spin_needs_room_for_its_largest_points_prize(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=49, redemptions_per_day=3))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=100)
    with pytest.raises(OfflineLimitReached, match="points_per_day"):
        spin(ledger, member_id, online=False)


def test_offline_points_won_on_the_wheel_count_against_offline_redemptions(open_ledger):
    ledger = open_ledger(OfflineLimits(points_per_day=1000, redemptions_per_day=3))
    ledger.apply_rules(1, demo_rules())
    member_id = with_member(ledger, points=2000)
    spin(ledger, member_id, online=False, draw=PTS_50)  # 50 points given offline
    with pytest.raises(OfflineLimitReached, match="points_per_day"):
        ledger.redeem("r1", member_id, "off-10", online=False)  # 50 + 1000 > 1000


def test_points_history_shows_a_spins_cost_and_win_as_pending(ledger):
    member_id = with_member(ledger, points=100)
    spin(ledger, member_id, 1)
    spin(ledger, member_id, 2, draw=PTS_10)
    lines = [(i.kind, i.points, i.pending) for i in ledger.points_history(member_id)]
    assert sorted(lines) == [("wheel", -5, True), ("wheel", 10, True)]
