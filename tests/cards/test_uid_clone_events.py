"""A member's UID presented blank, or behind keys that are not the card's, is reported as a
suspected UID clone (a magic card with a copied UID), sparingly.

The genuine card always holds a record behind its own diversified keys, so a registered UID
without one is most likely a copy. Each report is a `security.uid_clone_suspected` outbox event
for HQ; tapping the copy again and again, or many copies, must not fill the outbox.
"""

from __future__ import annotations

import pytest

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.alerts import EventRateLimit
from kiosk.cards.personalize import personalize
from kiosk.cards.tap import tap_job
from kiosk.cards.verify import NotAMemberCard, verify_tap

MEMBER_UID = bytes.fromhex("DE700001")  # registered to demo member M0001
UNKNOWN_UID = bytes.fromhex("11223344")
TEN_MINUTES = 600.0


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 5_000.0

    def __call__(self) -> float:
        return self.t


def clone_events(ledger):
    return [e for e in ledger.outbox_pending(1000) if e.type == "security.uid_clone_suspected"]


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def tap_with_limit(keys, ledger, faults, tap, clock):
    """tap_with_limit(card, **limits): a tap through the reader's job with a limit on `clock`."""
    jobs: dict[tuple, object] = {}

    def _tap(card, **limits):
        key = tuple(sorted(limits.items()))
        job = jobs.setdefault(key, tap_job(keys, ledger, faults, clone_alerts=EventRateLimit(clock, **limits)))
        return job(tap(card)).verdict

    return _tap


def test_a_members_uid_on_a_blank_magic_card_is_reported_as_a_suspected_clone(keys, ledger, tap, faults):
    verdict = verify_tap(tap(MifareClassic1K.magic(MEMBER_UID)), keys, ledger, faults)
    assert verdict == NotAMemberCard("no_record")  # the shopper still just sees "not a member card"
    [event] = clone_events(ledger)
    assert event.payload["uid"] == MEMBER_UID.hex()
    assert event.payload["detail"] == {"reason": "blank", "suppressed_since_last": 0}


def test_a_members_uid_behind_unknown_keys_is_reported_as_a_suspected_clone(keys, other_keys, ledger, tap, faults):
    copy = MifareClassic1K.magic(MEMBER_UID)
    personalize(tap(copy), other_keys, "M0001", 1, faults)  # keyed by somebody else's master key
    verdict = verify_tap(tap(copy), keys, ledger, faults)
    assert verdict == NotAMemberCard("unknown_keys")
    [event] = clone_events(ledger)
    assert event.payload["detail"]["reason"] == "unknown_keys"


def test_a_blank_card_with_a_uid_nobody_registered_is_only_not_a_member_card(keys, ledger, tap, faults):
    verdict = verify_tap(tap(MifareClassic1K(UNKNOWN_UID)), keys, ledger, faults)
    assert verdict == NotAMemberCard("no_record")
    assert [e for e in ledger.outbox_pending(1000) if e.type.startswith("security.")] == []


def test_the_members_genuine_card_is_not_reported(keys, ledger, tap, faults):
    card = MifareClassic1K(MEMBER_UID)
    personalize(tap(card), keys, "M0001", 1, faults)
    verify_tap(tap(card), keys, ledger, faults)
    assert clone_events(ledger) == []


def test_a_copy_tapped_again_and_again_is_reported_once_per_ten_minutes(ledger, tap_with_limit, clock):
    copy = MifareClassic1K.magic(MEMBER_UID)
    for _ in range(10):
        tap_with_limit(copy)
        clock.t += 59  # ten taps inside ten minutes
    assert len(clone_events(ledger)) == 1


def test_the_next_report_of_a_uid_says_how_many_taps_were_held_back(ledger, tap_with_limit, clock):
    copy = MifareClassic1K.magic(MEMBER_UID)
    for _ in range(4):
        tap_with_limit(copy)
        clock.t += 60
    clock.t += TEN_MINUTES
    tap_with_limit(copy)
    held_back = [e.payload["detail"]["suppressed_since_last"] for e in clone_events(ledger)]
    assert held_back == [0, 3]


def test_copies_of_many_uids_are_capped_per_hour(ledger, tap_with_limit, clock):
    uids = [bytes([0xC1, 0x0E, 0x00, n]) for n in range(5)]
    for uid in uids:
        ledger.register_card(uid, "M0001", 1)
    for uid in uids:
        tap_with_limit(MifareClassic1K.magic(uid), global_max=3)
    assert len(clone_events(ledger)) == 3
    clock.t += 3600
    tap_with_limit(MifareClassic1K.magic(uids[4]), global_max=3)
    assert len(clone_events(ledger)) == 4


def test_the_limit_counts_each_uid_on_its_own_clock():
    clock = FakeMonotonic()
    limit = EventRateLimit(clock)
    assert limit.allow(b"\x01\x02\x03\x04") == 0
    clock.t += 1
    assert limit.allow(b"\x05\x06\x07\x08") == 0  # another UID: not held back by the first
    assert limit.allow(b"\x01\x02\x03\x04") is None
