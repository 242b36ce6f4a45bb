"""A card that already reads counter n is "written" only for the redemption n belongs to.

The card step skips the write when the card already holds the counter it was asked for: an
earlier write of the same redemption landed but its answer was lost. The card cannot say whose
write it was; the ledger can. Another redemption finding the card at n must not take that write
as its own, or one write would confirm two redemptions.
"""

from __future__ import annotations

import itertools

import pytest

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.personalize import personalize
from kiosk.cards.reading import read_card
from kiosk.cards.redeem_step import (
    CardWriteRefused,
    CardWritten,
    RedemptionConfirmed,
    complete_redemption,
    write_redemption_counter,
)

UID = bytes.fromhex("DE700004")  # demo member M0004, issue 1
MEMBER = "M0004"


@pytest.fixture
def card(keys, tap, faults):
    card = MifareClassic1K(UID)
    personalize(tap(card), keys, MEMBER, 1, faults)
    return card


def step(ledger, keys, faults, session, intent_id, counter):
    return write_redemption_counter(
        session, keys, faults, ledger, intent_id=intent_id, card_uid=UID, member_id=MEMBER, target_counter=counter
    )


def complete(ledger, keys, faults, session, intent_id, counter):
    return complete_redemption(
        session, keys, faults, ledger, intent_id=intent_id, card_uid=UID, member_id=MEMBER, target_counter=counter
    )


def card_counter(card, keys, tap, faults) -> int:
    return read_card(tap(card), keys, faults).best()[1].counter


def test_a_card_put_at_n_by_another_redemption_is_not_this_ones_write(card, keys, ledger, tap, faults):
    pending = ledger.prepare_redemption("i-1", MEMBER, "off-5", UID, online=False)
    assert isinstance(complete(ledger, keys, faults, tap(card), "i-1", pending.card_counter), RedemptionConfirmed)
    assert step(ledger, keys, faults, tap(card), "i-2", pending.card_counter) == CardWriteRefused("counter_taken")


def test_a_counter_taken_by_another_redemption_cannot_be_fixed_by_another_tap():
    assert CardWriteRefused("counter_taken").final


def test_a_write_that_landed_unanswered_is_the_waiting_redemptions_own(card, keys, ledger, tap, faults):
    pending = ledger.prepare_redemption("i-1", MEMBER, "off-5", UID, online=False)
    # Pull the card ever later, each time just as a frame lands, until the counter is on the
    # card while the redemption is still waiting: the write landed, its answer never came back.
    for frames in itertools.count(1):
        session = tap(card)
        session.pull_after(frames, answer_last=False)
        complete(ledger, keys, faults, session, "i-1", pending.card_counter)
        if card_counter(card, keys, tap, faults) == pending.card_counter:
            break
    assert ledger.pending_redemption_for_card(UID).intent_id == "i-1"
    result = step(ledger, keys, faults, tap(card), "i-1", pending.card_counter)
    assert isinstance(result, CardWritten) and result.already
