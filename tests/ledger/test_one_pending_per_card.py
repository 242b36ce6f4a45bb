"""A card has at most one redemption waiting for its card write.

A redemption's card counter is the card's last one + 1. A second redemption prepared while the
first still waits would get the same counter, and one card write would then confirm both (the
double charge of security hardening item 11). The ledger refuses it; the schema refuses it too;
and a ledger file written before the rule keeps only the newest of a card's waiting redemptions.
"""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.ledger import RedemptionAlreadyPending
from kiosk.ledger.db import ts
from kiosk.ledger.views import reserved_points
from tests.ledger.conftest import SECOND, T0, with_member
from tests.ledger.schema_undo import undo_migrations_after

UID = bytes.fromhex("04a1b2c3")


def member_with_card(ledger, points: int = 5000, last_counter: int = 4) -> str:
    card = {"uid": UID.hex(), "issue_no": 1, "status": "active", "last_counter": last_counter}
    return with_member(ledger, points=points, cards=[card])


def test_a_second_redemption_for_a_card_with_one_pending_is_refused(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    with pytest.raises(RedemptionAlreadyPending) as refused:
        ledger.prepare_redemption("second", member_id, "off-5", UID, online=True)
    assert refused.value.intent_id == "first"
    assert reserved_points(ledger.conn, member_id) == 1000  # only the first holds points


def test_a_one_step_redemption_for_a_card_with_one_pending_is_refused(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    with pytest.raises(RedemptionAlreadyPending):
        ledger.redeem("second", member_id, "off-5", UID, online=True)
    assert ledger.vouchers(member_id) == ()


def test_repeating_the_pending_prepare_is_not_a_second_redemption(ledger):
    member_id = member_with_card(ledger)
    first = ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    assert ledger.prepare_redemption("first", member_id, "off-10", UID, online=True) == first


def test_once_the_pending_one_is_confirmed_the_card_redeems_at_the_next_counter(ledger):
    member_id = member_with_card(ledger)
    first = ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    ledger.confirm_redemption("first", first.card_counter)
    second = ledger.prepare_redemption("second", member_id, "off-5", UID, online=True)
    assert (first.card_counter, second.card_counter) == (5, 6)


def test_once_the_pending_one_is_released_the_card_redeems_again(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    ledger.abandon_redemption("first")
    assert ledger.prepare_redemption("second", member_id, "off-5", UID, online=True).card_counter == 5


def test_redemptions_without_a_card_are_not_limited_to_one(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-5", None, online=True)
    ledger.prepare_redemption("second", member_id, "off-5", None, online=True)
    assert reserved_points(ledger.conn, member_id) == 1000


def test_the_schema_refuses_a_second_waiting_redemption_for_a_card(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    with pytest.raises(sqlite3.IntegrityError, match="intents.card_uid"):
        ledger.conn.execute(
            "INSERT INTO intents SELECT 'second', member_id, reward_id, card_uid, online, state, card_counter,"
            " cost_points, rules_version, created_at, updated_at FROM intents WHERE intent_id = 'first'"
        )


def test_a_ledger_with_two_waiting_for_one_card_keeps_the_newest_after_the_upgrade(ledger, open_ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("older", member_id, "off-10", UID, online=True)
    # What a kiosk before the rule could leave behind: its schema (version 2, a plain index, none
    # of the later migrations' columns and tables) and a second redemption prepared for the card
    # while the first waited.
    undo_migrations_after(ledger.conn, 2)
    a_second_later = ts(T0 + SECOND)
    ledger.conn.execute(
        "INSERT INTO intents SELECT 'newer', member_id, 'off-5', card_uid, online, state, card_counter, 500,"
        " rules_version, ?, ? FROM intents WHERE intent_id = 'older'",
        (a_second_later, a_second_later),
    )
    ledger.close()
    upgraded = open_ledger()
    assert upgraded.pending_redemption_for_card(UID).intent_id == "newer"
    assert dict(upgraded.conn.execute("SELECT intent_id, state FROM intents")) == {
        "older": "abandoned",
        "newer": "prepared",
    }
    assert reserved_points(upgraded.conn, member_id) == 500


def test_a_card_counter_belongs_to_the_redemption_issued_with_it(ledger):
    member_id = member_with_card(ledger)
    first = ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    ledger.confirm_redemption("first", first.card_counter)
    assert ledger.card_counter_owner(UID, member_id, first.card_counter) == "first"


def test_a_card_counter_belongs_to_the_redemption_waiting_to_write_it(ledger):
    member_id = member_with_card(ledger)
    pending = ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    assert ledger.card_counter_owner(UID, member_id, pending.card_counter) == "first"


def test_a_card_counter_no_redemption_was_given_belongs_to_none(ledger):
    member_id = member_with_card(ledger)
    ledger.prepare_redemption("first", member_id, "off-10", UID, online=True)
    ledger.abandon_redemption("first")
    assert ledger.card_counter_owner(UID, member_id, 5) is None
