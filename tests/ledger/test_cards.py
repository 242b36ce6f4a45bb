"""Cards and the deny-list as stored by the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ledger import DenylistGap, InvalidDenylist, StaleVersion, UnknownMember
from tests.ledger.conftest import T0, with_member

A, B, C = bytes.fromhex("04000001"), bytes.fromhex("04000002"), bytes.fromhex("04000003")


def test_register_card_and_read_its_state(ledger):
    member_id = with_member(ledger)
    ledger.register_card(A, member_id, 2)
    state = ledger.card_state(A)
    assert (state.member_id, state.issue_no, state.status, state.last_counter) == (member_id, 2, "active", 0)
    assert ledger.find_member_by_card(A) == state
    assert ledger.outbox_pending(5)[-1].type == "card.registered"


def test_registering_for_an_unknown_member_fails(ledger):
    with pytest.raises(UnknownMember):
        ledger.register_card(A, "nobody", 1)


def test_unknown_card_has_no_state_and_no_denial(ledger):
    assert ledger.card_state(A) is None and ledger.denial(A) is None


def test_local_denial_is_stored_with_reason_and_reported(ledger):
    ledger.deny_card(A, "rollback")
    assert ledger.denial(A) == "rollback"
    assert ledger.outbox_pending(5)[0].payload["reason"] == "rollback"


def test_card_status_from_hq_denies(ledger):
    with_member(ledger, cards=[{"uid": A.hex(), "issue_no": 1, "status": "replaced"}])
    assert ledger.denial(A) == "replaced"


def test_full_list_replaces_hq_entries_but_keeps_local_denials(ledger):
    ledger.deny_card(C, "rollback")
    ledger.apply_denylist_full(1, [{"uid": A.hex(), "reason": "lost"}], T0)
    ledger.apply_denylist_full(2, [(B, "blocked")], T0 + dt.timedelta(hours=1))
    assert (ledger.denial(A), ledger.denial(B), ledger.denial(C)) == (None, "blocked", "rollback")
    assert ledger.denylist_version() == 2 and ledger.denylist_issued_at() == T0 + dt.timedelta(hours=1)


def test_delta_adds_and_removes(ledger):
    ledger.apply_denylist_full(1, [(A, "lost")], T0)
    ledger.apply_denylist_delta(2, 1, added=[(B, "lost")], removed=[A.hex()], issued_at=T0)
    assert (ledger.denial(A), ledger.denial(B), ledger.denylist_version()) == (None, "lost", 2)


def test_delta_on_another_base_is_refused_and_changes_nothing(ledger):
    ledger.apply_denylist_full(1, [(A, "lost")], T0)
    with pytest.raises(DenylistGap):
        ledger.apply_denylist_delta(3, 2, added=[(B, "lost")], removed=[], issued_at=T0)
    assert ledger.denial(B) is None and ledger.denylist_version() == 1


def test_stale_list_is_refused(ledger):
    ledger.apply_denylist_full(2, [], T0)
    with pytest.raises(StaleVersion):
        ledger.apply_denylist_full(2, [(A, "lost")], T0)


def test_invalid_entry_rejects_the_whole_list_atomically(ledger):
    ledger.apply_denylist_full(1, [(A, "lost")], T0)
    with pytest.raises(InvalidDenylist):
        ledger.apply_denylist_full(2, [(B, "lost"), ("zz-not-hex", "lost")], T0)
    assert (ledger.denial(A), ledger.denial(B), ledger.denylist_version()) == ("lost", None, 1)


def test_a_higher_counter_from_the_card_is_taken_and_a_lower_one_ignored(ledger):
    ledger.register_card(A, with_member(ledger), 1)
    ledger.note_card_counter(A, 5)
    ledger.note_card_counter(A, 3)
    assert ledger.card_state(A).last_counter == 5


def test_a_tap_whose_counter_has_not_moved_writes_nothing(ledger):
    # Taps report the card's counter every time; an unchanged one must not cost a durable write.
    ledger.register_card(A, with_member(ledger), 1)
    ledger.note_card_counter(A, 5)
    wal = ledger.path.with_name(ledger.path.name + "-wal")
    before = wal.stat().st_size, ledger.conn.total_changes
    ledger.note_card_counter(A, 5)
    ledger.note_card_counter(A, 4)
    assert (wal.stat().st_size, ledger.conn.total_changes) == before


def test_card_counter_only_moves_forward_on_snapshot(ledger):
    with_member(ledger, cards=[{"uid": A.hex(), "issue_no": 1, "status": "active", "last_counter": 9}])
    with_member(ledger, version=2, cards=[{"uid": A.hex(), "issue_no": 1, "status": "active", "last_counter": 3}])
    assert ledger.card_state(A).last_counter == 9
