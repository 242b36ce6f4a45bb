"""积分明细 in the ledger: HQ's last point movements plus this kiosk's own redemptions HQ has not
confirmed yet (pending), newest first; a redemption is never listed twice; a bad item refuses the
whole update, naming it, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import InvalidSnapshot, UnknownMember
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.snapshot import MAX_HISTORY_ITEMS
from kiosk.model import HistoryItem
from tests.ledger.conftest import DAY, T0, TZ, member, with_member
from tests.ledger.schema_undo import undo_migrations_after

UTC = dt.UTC


def earn(points: int, at: dt.datetime, store: str = "store-1") -> dict:
    return {"kind": "earn", "points": points, "at": at.astimezone(UTC).isoformat(), "store_id": store}


def redeemed(points: int, at: dt.datetime, voucher_id: str, device: str = "kiosk-01") -> dict:
    return {
        "kind": "redemption",
        "points": -points,
        "at": at.astimezone(UTC).isoformat(),
        "device_id": device,
        "voucher_id": voucher_id,
    }


def kinds(items: tuple[HistoryItem, ...]) -> list[tuple[str, int, bool]]:
    return [(item.kind, item.points, item.pending) for item in items]


def test_hqs_items_newest_first_in_the_store_zone_with_where_they_happened(ledger):
    history = [
        earn(120, T0 - 2 * DAY, "store-2"),
        {"kind": "expire", "points": -300, "at": (T0 - DAY).isoformat()},
        redeemed(800, T0 - 5 * DAY, "kiosk-07-3", device="kiosk-07"),
    ]
    member_id = with_member(ledger, points=2000, history=history)
    items = ledger.points_history(member_id)
    assert items == (
        HistoryItem("expire", -300, T0 - DAY, None),
        HistoryItem("earn", 120, T0 - 2 * DAY, "store-2"),
        HistoryItem("redemption", -800, T0 - 5 * DAY, "kiosk-07"),
    )
    assert all(item.at.tzinfo == TZ for item in items)


def test_a_member_hq_sent_no_history_for_has_an_empty_one(ledger):
    assert ledger.points_history(with_member(ledger, points=10)) == ()


def test_an_unknown_member_has_no_history(ledger):
    with pytest.raises(UnknownMember):
        ledger.points_history("NOBODY")


def test_a_redemption_here_is_pending_until_hq_confirms_it_and_then_listed_once(ledger, clock):
    member_id = with_member(ledger, points=2000, history=[earn(2000, T0 - DAY)])
    clock.advance(dt.timedelta(minutes=5))
    ledger.redeem("i1", member_id, "off-10", online=False)
    (voucher,) = ledger.vouchers(member_id)
    event_id = ledger.outbox_pending(1)[0].event_id

    assert ledger.points_history(member_id) == (
        HistoryItem("redemption", -1000, clock.now(), "kiosk-01", pending=True),
        HistoryItem("earn", 2000, T0 - DAY, "store-1"),
    )
    # HQ merged it: its history lists the redemption and the update acknowledges the event.
    confirmed = [redeemed(1000, clock.now(), voucher.voucher_id), earn(2000, T0 - DAY)]
    ledger.apply_member_snapshot(2, [member(points=1000, history=confirmed)], [event_id])
    assert kinds(ledger.points_history(member_id)) == [("redemption", -1000, False), ("earn", 2000, False)]


def test_hqs_history_listing_the_redemption_ends_pending_even_before_the_acknowledgement_arrives(ledger, clock):
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "off-10", online=True)
    (voucher,) = ledger.vouchers(member_id)
    # The update that acknowledged the event was lost; a later one lists the redemption anyway.
    ledger.apply_member_snapshot(2, [member(points=1000, history=[redeemed(1000, clock.now(), voucher.voucher_id)])])
    assert kinds(ledger.points_history(member_id)) == [("redemption", -1000, False)]


def test_an_acknowledged_redemption_older_than_hqs_window_is_not_shown_as_pending(ledger):
    member_id = with_member(ledger, points=2000)
    ledger.redeem("i1", member_id, "off-10", online=True)
    event_id = ledger.outbox_pending(1)[0].event_id
    recent = [earn(5, T0 + DAY * n) for n in range(3)]  # the redemption fell out of HQ's last items
    ledger.apply_member_snapshot(2, [member(points=1000, history=recent)], [event_id])
    assert [item.pending for item in ledger.points_history(member_id)] == [False, False, False]


def test_another_members_redemption_is_not_in_this_members_history(ledger):
    ledger.apply_member_snapshot(1, [member("M1", points=2000), member("M2", points=2000)])
    ledger.redeem("i1", "M1", "off-10", online=False)
    assert ledger.points_history("M2") == ()
    assert len(ledger.points_history("M1")) == 1


def test_an_update_replaces_the_history_and_one_without_it_clears_it(ledger):
    member_id = with_member(ledger, points=10, history=[earn(10, T0)])
    ledger.apply_member_snapshot(2, [member(points=20, history=[earn(10, T0 + DAY), earn(10, T0)])])
    assert len(ledger.points_history(member_id)) == 2
    ledger.apply_member_snapshot(3, [member(points=20)])
    assert ledger.points_history(member_id) == ()


def test_kinds_a_newer_hq_invents_are_kept(ledger):
    member_id = with_member(ledger, points=5, history=[{"kind": "checkin", "points": 5, "at": T0.isoformat()}])
    assert kinds(ledger.points_history(member_id)) == [("checkin", 5, False)]


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ("earn", "history must be a list"),
        ([5], "history[0] must be an object"),
        ([{"points": 5, "at": T0.isoformat()}], "history[0].kind"),
        ([{"kind": "Earn Points", "points": 5, "at": T0.isoformat()}], "history[0].kind"),
        ([{"kind": "earn", "points": "5", "at": T0.isoformat()}], "history[0].points"),
        ([{"kind": "earn", "points": True, "at": T0.isoformat()}], "history[0].points"),
        ([{"kind": "earn", "points": 2**63, "at": T0.isoformat()}], "history[0].points"),
        ([{"kind": "earn", "points": 5}], "history[0].at"),
        ([{"kind": "earn", "points": 5, "at": "2026-03-01T10:00:00"}], "history[0].at needs a UTC offset"),
        ([{"kind": "earn", "points": 5, "at": T0.isoformat(), "store_id": ""}], "history[0].store_id"),
        ([{"kind": "earn", "points": 5, "at": T0.isoformat(), "device_id": "d" * 65}], "history[0].device_id"),
        ([{"kind": "redemption", "points": -5, "at": T0.isoformat(), "voucher_id": 7}], "history[0].voucher_id"),
        ([earn(1, T0)] * (MAX_HISTORY_ITEMS + 1), f"at most {MAX_HISTORY_ITEMS}"),
    ],
)
def test_a_bad_item_refuses_the_whole_update_naming_it_and_changes_nothing(ledger, history, reason):
    member_id = with_member(ledger, points=10, history=[earn(10, T0)])
    with pytest.raises(InvalidSnapshot) as refused:
        ledger.apply_member_snapshot(2, [member(points=99, history=history)])
    assert "members[0] (M1)" in str(refused.value) and reason in str(refused.value)
    assert ledger.member_snapshot_version() == 1
    assert ledger.points_history(member_id) == (HistoryItem("earn", 10, T0, "store-1"),)


def test_a_ledger_from_before_the_history_keeps_its_members_and_starts_with_empty_histories(open_ledger, tmp_path):
    old = open_ledger()
    old.apply_rules(1, demo_rules())
    old.apply_member_snapshot(1, [member(points=300)])
    undo_migrations_after(old.conn, 4)  # as schema 4 left it
    old.close()
    again = open_ledger()
    assert again.member_view("M1").points == 300 and again.points_history("M1") == ()
    again.apply_member_snapshot(2, [member(points=300, history=[earn(300, T0)])])
    assert len(again.points_history("M1")) == 1
