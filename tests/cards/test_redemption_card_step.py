"""The card-write step of a redemption: counter on card and ledger move together, exactly once."""

import pytest

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.personalize import personalize
from kiosk.cards.reading import read_card
from kiosk.cards.record import CopyStatus
from kiosk.cards.redeem_step import (
    CardWriteRefused,
    RedemptionConfirmed,
    RedemptionPending,
    complete_redemption,
    resume_on_tap,
    write_redemption_counter,
)
from kiosk.cards.verify import Blocked, Rollback, Verified, verify_tap
from kiosk.ledger.errors import CardDenied

UID = bytes.fromhex("DE700004")  # demo member M0004 (diamond, 12,000 points), issue 1
MEMBER = "M0004"
COST = 500  # reward "off-5"


@pytest.fixture
def card(keys, tap, faults):
    card = MifareClassic1K(UID)
    personalize(tap(card), keys, MEMBER, 1, faults)
    return card


def redeem(ledger, keys, faults, session, intent_id):
    pending = ledger.prepare_redemption(intent_id, MEMBER, "off-5", UID, online=False)
    return complete_redemption(
        session,
        keys,
        faults,
        ledger,
        intent_id=intent_id,
        card_uid=UID,
        member_id=MEMBER,
        target_counter=pending.card_counter,
    )


def points(ledger):
    return ledger.member_view(MEMBER).points


def test_redemption_writes_the_next_counter_to_the_other_copy_then_confirms(card, keys, ledger, tap, faults):
    before = points(ledger)
    outcome = redeem(ledger, keys, faults, tap(card), "i-1")
    assert isinstance(outcome, RedemptionConfirmed)
    assert (outcome.card.counter, outcome.card.copy, outcome.card.already) == (1, 1, False)
    assert points(ledger) == before - COST
    assert ledger.card_state(UID).last_counter == 1
    verdict = verify_tap(tap(card), keys, ledger, faults)
    assert (verdict.counter, verdict.copy) == (1, 1)


def test_copies_alternate_so_the_previous_record_survives(card, keys, ledger, tap, faults):
    for n in range(1, 4):
        redeem(ledger, keys, faults, tap(card), f"i-{n}")
    reading = read_card(tap(card), keys, faults)
    counters = sorted(c.check.record.counter for c in reading.copies)
    assert counters == [2, 3]


def test_repeating_a_confirmed_step_changes_nothing(card, keys, ledger, tap, faults):
    first = redeem(ledger, keys, faults, tap(card), "i-1")
    before = points(ledger)
    again = complete_redemption(
        tap(card),
        keys,
        faults,
        ledger,
        intent_id="i-1",
        card_uid=UID,
        member_id=MEMBER,
        target_counter=1,
    )
    assert isinstance(again, RedemptionConfirmed) and again.card.already
    assert again.voucher.voucher_id == first.voucher.voucher_id
    assert points(ledger) == before
    assert ledger.card_state(UID).last_counter == 1


def test_step_refuses_another_card(card, keys, ledger, tap, faults):
    other = MifareClassic1K(bytes.fromhex("DE700003"))
    personalize(tap(other), keys, "M0003", 1, faults)
    result = write_redemption_counter(
        tap(other), keys, faults, ledger, intent_id="i-1", card_uid=UID, member_id=MEMBER, target_counter=1
    )
    assert result == CardWriteRefused("other_card")


def test_step_never_moves_a_counter_backwards(card, keys, ledger, tap, faults):
    redeem(ledger, keys, faults, tap(card), "i-1")
    redeem(ledger, keys, faults, tap(card), "i-2")
    result = write_redemption_counter(
        tap(card), keys, faults, ledger, intent_id="i-1", card_uid=UID, member_id=MEMBER, target_counter=1
    )
    assert result == CardWriteRefused("counter_ahead")


def test_restored_image_on_a_magic_card_is_a_rollback_and_blocks_the_uid(card, keys, ledger, tap, faults):
    image = [card.block(n) for n in range(64)]  # dumped with recovered keys
    assert isinstance(redeem(ledger, keys, faults, tap(card), "i-1"), RedemptionConfirmed)
    clone = MifareClassic1K.magic(UID)
    for n, data in enumerate(image):
        clone.set_block(n, data)
    verdict = verify_tap(tap(clone), keys, ledger, faults)
    assert verdict == Rollback(card_counter=0, ledger_counter=1)
    assert ledger.denial(UID) == "rollback"
    types = [e.type for e in ledger.outbox_pending(1000)]
    assert "security.card_rollback" in types and "security.card_denied" in types
    # Offline and on the next tap, whichever of the two cards it is: blocked.
    assert verify_tap(tap(card), keys, ledger, faults) == Blocked("rollback")


def test_clone_cannot_redeem_once_the_uid_is_blocked(card, keys, ledger, tap, faults):
    image = [card.block(n) for n in range(64)]
    redeem(ledger, keys, faults, tap(card), "i-1")
    clone = MifareClassic1K.magic(UID)
    for n, data in enumerate(image):
        clone.set_block(n, data)
    verify_tap(tap(clone), keys, ledger, faults)
    with pytest.raises(CardDenied):  # the ledger itself refuses a denied card
        ledger.prepare_redemption("i-2", MEMBER, "off-5", UID, online=False)


@pytest.mark.parametrize("answer_last", [True, False], ids=["pulled", "pulled-before-answer"])
def test_card_pulled_at_every_step_never_mixes_records_and_never_redeems_twice(
    card, keys, ledger, tap, faults, answer_last
):
    start_points = points(ledger)
    frames = 0
    confirmed_at_first_try = 0
    n = 0
    while True:
        counter_before = ledger.card_state(UID).last_counter
        session = tap(card)
        assert isinstance(verify_tap(session, keys, ledger, faults), Verified)
        session.pull_after(n, answer_last)  # the card leaves after n more frames of the card step
        outcome = redeem(ledger, keys, faults, session, f"i-{n}")
        if isinstance(outcome, RedemptionConfirmed):
            confirmed_at_first_try += 1
        else:
            assert isinstance(outcome, RedemptionPending)
        # Whatever happened, the card holds whole records only: old or new, never a mix.
        reading = read_card(tap(card), keys, faults)
        genuine = {c.check.record.counter for c in reading.copies if c.check.status is CopyStatus.VALID}
        assert genuine <= {counter_before - 1, counter_before, counter_before + 1}
        assert reading.best()[1].counter in (counter_before, counter_before + 1)
        # The member taps again: a pending redemption is finished, exactly once.
        session = tap(card)
        verdict = verify_tap(session, keys, ledger, faults)
        assert isinstance(verdict, Verified), verdict
        resumed = resume_on_tap(session, keys, faults, ledger, verdict)
        assert isinstance(outcome, RedemptionConfirmed) or isinstance(resumed, RedemptionConfirmed)
        assert ledger.pending_redemption_for_card(UID) is None
        assert ledger.card_state(UID).last_counter == counter_before + 1
        assert read_card(tap(card), keys, faults).best()[1].counter == counter_before + 1
        n += 1
        if isinstance(outcome, RedemptionConfirmed):
            frames = n
            break
    assert frames > 10  # the step really was cut at every frame until it could complete
    assert points(ledger) == start_points - COST * n
    assert len(ledger.vouchers(MEMBER)) == n


def test_tap_job_finishes_a_pending_redemption_once(card, keys, ledger, tap, faults):
    from kiosk.cards.tap import tap_job

    job = tap_job(keys, ledger, faults)
    session = tap(card)
    session.pull_after(0)
    assert isinstance(redeem(ledger, keys, faults, session, "i-1"), RedemptionPending)
    before = points(ledger)
    first = job(tap(card))
    assert isinstance(first.resumed, RedemptionConfirmed)
    assert points(ledger) == before - COST
    second = job(tap(card))
    assert second.resumed is None and second.verdict.counter == 1
    assert points(ledger) == before - COST


def test_refusals_that_a_new_tap_cannot_fix_are_final():
    assert CardWriteRefused("counter_ahead").final and not CardWriteRefused("other_card").final
