"""HQ member snapshots: local events count until HQ acknowledges them, never zero or twice."""

from __future__ import annotations

import pytest

from kiosk.ledger import InvalidSnapshot, StaleVersion, UnknownMember
from kiosk.ledger.demo import DEMO_CARDS, demo_members, seed_demo
from tests.ledger.conftest import DAY, T0, lot, member, with_member


def test_local_redemption_counts_on_top_of_the_snapshot_until_acknowledged(ledger):
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "off-10", online=False)
    event_id = ledger.outbox_pending(1)[0].event_id
    # HQ has not merged the event yet: its snapshot still shows 2000
    ledger.apply_member_snapshot(2, [member(points=2000)])
    assert ledger.member_view(member_id).points == 1000
    # HQ merged it: snapshot shows 1000 and acknowledges the event, which stops counting locally
    ledger.apply_member_snapshot(3, [member(points=1000)], [event_id])
    assert ledger.member_view(member_id).points == 1000


def test_two_kiosks_redeeming_offline_both_count_once_after_hq_merges(ledger):
    member_id = with_member(ledger, points=3000)
    ledger.redeem("mine", member_id, "off-10", online=False)  # this kiosk: -1000
    mine = ledger.outbox_pending(1)[0].event_id
    # HQ merged another kiosk's -1000 but not ours yet
    ledger.apply_member_snapshot(2, [member(points=2000)], ["other-kiosk-event"])
    assert ledger.member_view(member_id).points == 1000
    # HQ merged ours too
    ledger.apply_member_snapshot(3, [member(points=1000)], [mine])
    assert ledger.member_view(member_id).points == 1000


def test_overdraft_from_two_kiosks_is_kept_as_a_deficit_not_forgotten(ledger):
    member_id = with_member(ledger, points=1000)
    ledger.redeem("mine", member_id, "off-10", online=False)
    ledger.apply_member_snapshot(2, [member(points=0, lots=[])])  # another kiosk spent the same points
    assert ledger.member_view(member_id).points == -1000


def test_replaying_a_snapshot_is_refused_and_changes_nothing(ledger):
    member_id = with_member(ledger, points=2000)
    with pytest.raises(StaleVersion):
        ledger.apply_member_snapshot(1, [member(points=5)])
    assert ledger.member_view(member_id).points == 2000


def test_invalid_entry_rejects_the_whole_snapshot(ledger):
    with_member(ledger, points=2000)
    bad = [member("M2", points=10), {"member_id": "M3", "name": "王五", "lots": [{"lot_id": "x", "points": -1}]}]
    with pytest.raises(InvalidSnapshot) as info:
        ledger.apply_member_snapshot(2, bad)
    assert "members[1] (M3)" in str(info.value)
    assert not ledger.member_exists("M2") and ledger.member_snapshot_version() == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"member_id": "", "name": "x"},
        {"member_id": "M", "name": ""},
        {"member_id": "M", "name": "x", "colour": 1},
        {"member_id": "M", "name": "x", "balance_fen": -5},
        {
            "member_id": "M",
            "name": "x",
            "lots": [
                {
                    "lot_id": "a",
                    "points": 1,
                    "earned_at": "2026-01-01T00:00:00",
                    "expires_at": "2027-01-01T00:00:00+08:00",
                }
            ],
        },
        {"member_id": "M", "name": "x", "cards": [{"uid": "xyz"}]},
        "not a dict",
    ],
)
def test_malformed_entries_are_invalid_snapshots(ledger, entry):
    with pytest.raises(InvalidSnapshot):
        ledger.apply_member_snapshot(1, [entry])


def test_full_snapshot_removes_members_hq_no_longer_has(ledger):
    ledger.apply_member_snapshot(1, [member("A"), member("B")], full=True)
    ledger.apply_member_snapshot(2, [member("B")], full=True)
    assert not ledger.member_exists("A") and ledger.member_exists("B")


def test_per_member_update_keeps_the_others_and_can_delete(ledger):
    ledger.apply_member_snapshot(1, [member("A"), member("B")], full=True)
    ledger.apply_member_snapshot(2, [member("C"), {"member_id": "A", "deleted": True}])
    assert [ledger.member_exists(m) for m in "ABC"] == [False, True, True]
    with pytest.raises(UnknownMember):
        ledger.member_view("A")


def test_voucher_state_from_hq_is_applied(ledger):
    member_id = with_member(ledger, points=2000)
    voucher = ledger.redeem("i1", member_id, "off-10", online=True)
    ledger.apply_member_snapshot(
        2,
        [member(points=1000, vouchers=[{"voucher_id": voucher.voucher_id, "state": "used"}])],
        [ledger.outbox_pending(1)[0].event_id],
    )
    assert ledger.vouchers(member_id)[0].state.value == "used"


def test_lots_are_reallocated_when_hq_changes_them(ledger):
    member_id = with_member(ledger, lots=[lot("a", 600, T0 + 10 * DAY), lot("b", 600, T0 + 20 * DAY)])
    ledger.redeem("i1", member_id, "off-10", online=False)  # 600 from a, 400 from b
    ledger.apply_member_snapshot(2, [member(lots=[lot("b", 600, T0 + 20 * DAY), lot("c", 900, T0 + 30 * DAY)])])
    assert ledger.member_view(member_id).points == 500  # 1500 - 1000, taken from b then c
    assert ledger.conn.execute("SELECT lot_id, points FROM spends ORDER BY part").fetchall() == [("b", 600), ("c", 400)]


def test_demo_seed_loads_rules_members_and_cards(open_ledger):
    ledger = open_ledger()
    seed_demo(ledger, T0)
    seed_demo(ledger, T0)  # seeding twice is harmless
    assert ledger.rules_version() == 1 and ledger.member_count() == len(demo_members(T0))
    assert {ledger.member_view(m["member_id"]).tier.code for m in demo_members(T0)} == {
        "regular",
        "silver",
        "gold",
        "diamond",
    }
    assert any(ledger.member_view(m["member_id"]).birthday_today for m in demo_members(T0))
    assert ledger.member_view("M0001").expiries[0].expires_at < T0 + 7 * DAY
    assert all(ledger.card_state(c.uid).member_id == c.member_id for c in DEMO_CARDS)
    assert [ledger.denial(c.uid) for c in DEMO_CARDS].count("lost") == 1
    assert len({c.key for c in DEMO_CARDS}) == len(DEMO_CARDS) and all(1 <= c.key <= 9 for c in DEMO_CARDS)
