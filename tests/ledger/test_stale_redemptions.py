"""A redemption prepared for a card that never came back releases the member's points after a while."""

from __future__ import annotations

import datetime as dt

from kiosk.ledger.views import reserved_points
from tests.ledger.conftest import with_member

UID = bytes.fromhex("de700001")


def prepared(ledger, intent_id: str = "i-1"):
    member_id = with_member(ledger, points=2000)
    ledger.register_card(UID, member_id, 1)
    return member_id, ledger.prepare_redemption(intent_id, member_id, "off-5", UID, online=False)


def test_a_recent_prepared_redemption_keeps_its_points_reserved(ledger, clock):
    member_id, pending = prepared(ledger)
    clock.advance(dt.timedelta(minutes=9))
    assert ledger.abandon_stale_redemptions(dt.timedelta(minutes=10)) == []
    assert ledger.pending_redemption_for_card(UID).intent_id == pending.intent_id


def test_an_old_prepared_redemption_is_released_and_its_points_return(ledger, clock):
    member_id, pending = prepared(ledger)
    assert reserved_points(ledger.conn, member_id) == pending.cost_points
    clock.advance(dt.timedelta(minutes=10, seconds=1))
    assert ledger.abandon_stale_redemptions(dt.timedelta(minutes=10)) == [pending.intent_id]
    assert ledger.pending_redemption_for_card(UID) is None
    assert reserved_points(ledger.conn, member_id) == 0
    assert ledger.vouchers(member_id) == ()


def test_a_confirmed_redemption_is_never_released(ledger, clock):
    member_id, pending = prepared(ledger)
    voucher = ledger.confirm_redemption(pending.intent_id, pending.card_counter)
    clock.advance(dt.timedelta(hours=2))
    assert ledger.abandon_stale_redemptions(dt.timedelta(minutes=10)) == []
    assert [v.voucher_id for v in ledger.vouchers(member_id)] == [voucher.voucher_id]
