"""A PIN before spending, in the kiosk's ledger: the rules' policy, the KDF HQ's hashes use, the
failure count that locks a member's redemptions (at once, with a `pin_locked` event for HQ), and
who may lift the lock (HQ, once it has acknowledged the kiosk's event)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from kiosk.ledger import InvalidRules, InvalidSnapshot
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.pin_kdf import (
    DEFAULT_N,
    InvalidPinHash,
    hash_pin,
    parse_pin_hash,
    valid_pin,
    verify_pin,
)
from kiosk.ledger.pin_lock import PinNotSet, PinRequirement
from kiosk.ledger.rules import PIN_NEVER, parse_rules
from tests.ledger.conftest import member

#: Hashed once for the module: each hash is a deliberate ~50 ms.
PIN = "482916"
PIN_HASH = hash_pin(PIN)
OTHER_HASH = hash_pin("1111")


def rules_with(pin: dict[str, Any] | None) -> dict[str, Any]:
    document = demo_rules()
    if pin is not None:
        document["pin"] = pin
    return document


# --- policy in the signed rules --------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "tier", "cost", "asks"),
    [
        ({"required": "always"}, "regular", 1, True),
        ({"required": "never"}, "gold", 10**6, False),
        ({"required": "above_points", "above_points": 1000}, "regular", 1000, False),
        ({"required": "above_points", "above_points": 1000}, "regular", 1001, True),
        ({"required": "tiers", "tiers": ["gold"]}, "gold", 1, True),
        ({"required": "tiers", "tiers": ["gold"]}, "silver", 10**6, False),
    ],
)
def test_the_policy_says_when_a_pin_is_asked(policy, tier, cost, asks):
    assert parse_rules(1, rules_with(policy)).pin.asks(tier, cost) is asks


def test_rules_without_a_pin_section_never_ask_and_allow_five_failures_by_default():
    assert parse_rules(1, rules_with(None)).pin == PIN_NEVER
    assert parse_rules(1, rules_with({"required": "always"})).pin.max_failures == 5


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"required": "sometimes"}, "pin.required: must be one of always, never, above_points, tiers"),
        ({"required": "above_points"}, "pin.above_points: is required when pin.required is 'above_points'"),
        ({"required": "always", "above_points": 10}, "pin.above_points: only applies when pin.required is"),
        ({"required": "tiers", "tiers": []}, "pin.tiers: must be a non-empty list of tier codes"),
        ({"required": "tiers", "tiers": ["platinum"]}, "pin.tiers[0]: unknown tier code 'platinum'"),
        ({"required": "always", "max_failures": 0}, "pin.max_failures: must be at least 1"),
        ({"required": "always", "lockout": 5}, "pin.lockout: unknown key"),
        ({"required": "above_points", "above_points": -1}, "pin.above_points: must be at least 0"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(policy, message):
    with pytest.raises(InvalidRules, match="rules document: " + message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(1, rules_with(policy))


# --- the KDF ---------------------------------------------------------------------------------


def test_the_hash_carries_its_parameters_and_a_fresh_salt_and_is_memory_hard():
    parsed = parse_pin_hash(PIN_HASH)
    assert PIN_HASH.startswith("scrypt$n=16384,r=8,p=1$") and PIN not in PIN_HASH
    assert (parsed.n, parsed.r, parsed.p, len(parsed.salt), len(parsed.digest)) == (DEFAULT_N, 8, 1, 16, 32)
    assert 128 * parsed.n * parsed.r == 16 * 2**20  # scrypt's memory: 16 MiB per guess
    assert hash_pin(PIN) != PIN_HASH  # another salt
    # It is plain scrypt: anyone with the standard library can check HQ's hashes.
    assert hashlib.scrypt(PIN.encode(), salt=parsed.salt, n=parsed.n, r=8, p=1, maxmem=2**25, dklen=32) == parsed.digest


def test_verification_accepts_the_pin_and_nothing_else():
    assert verify_pin(PIN, PIN_HASH)
    for wrong in ("482917", "48291", "4829160", "", "48291a", "４８２９１６"):
        assert not verify_pin(wrong, PIN_HASH)


def test_a_wrong_pin_costs_as_long_as_a_right_one():
    # Malformed input is not refused early: that would tell a prober which guesses were well-formed.
    def timed(pin: str) -> float:
        start = time.perf_counter()
        verify_pin(pin, PIN_HASH)
        return time.perf_counter() - start

    right = min(timed(PIN) for _ in range(3))
    assert min(timed("12") for _ in range(3)) > right / 3


@pytest.mark.parametrize(
    "text",
    [
        "bcrypt$whatever",
        "scrypt$n=16384,r=8,p=1$c2FsdA==",  # no hash
        PIN_HASH.replace("n=16384", "n=16000"),  # not a power of two
        PIN_HASH.replace("n=16384", "n=1048576"),  # 1 GiB per tap: refused, not attempted
        PIN_HASH.replace("n=16384", "n=1024"),  # too cheap to stand a stolen snapshot
        PIN_HASH.replace("r=8", "r=99"),
    ],
    ids=["other-kdf", "no-hash", "n-not-power-of-two", "n-1GiB", "n-too-cheap", "r-too-big"],  # the salt is random
)
def test_hashes_out_of_bounds_are_refused(text):
    with pytest.raises(InvalidPinHash):
        parse_pin_hash(text)


def test_only_four_to_six_digits_are_a_pin():
    assert [valid_pin(p) for p in ("1234", "123456", "123", "1234567", "12a4", " 1234")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    with pytest.raises(ValueError):
        hash_pin("123")


# --- the ledger: requirement, failures, lock ---------------------------------------------------


@pytest.fixture
def pin_ledger(ledger):
    """Rules v2 ask for the PIN above 900 points, three wrong ones lock; M1 has a PIN, M2 none."""
    ledger.apply_rules(2, rules_with({"required": "above_points", "above_points": 900, "max_failures": 3}))
    ledger.apply_member_snapshot(
        1, [member("M1", points=9000, pin_hash=PIN_HASH), member("M2", points=9000)], full=True
    )
    return ledger


def lock_events(ledger) -> list[dict[str, Any]]:
    return [e.payload for e in ledger.outbox_pending(100) if e.type == "pin_locked"]


def test_the_requirement_follows_the_policy_and_the_members_pin(pin_ledger):
    assert pin_ledger.pin_requirement("M1", "drink") is PinRequirement.NOT_NEEDED  # 800 points
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.NEEDED  # 1000 points
    assert pin_ledger.pin_requirement("M2", "off-10") is PinRequirement.NOT_SET
    assert pin_ledger.pin_requirement("M2", "drink") is PinRequirement.NOT_NEEDED


def test_a_right_pin_passes_and_resets_the_count(pin_ledger):
    assert not pin_ledger.check_pin("M1", "000000").ok
    check = pin_ledger.check_pin("M1", PIN)
    assert check.ok and not check.locked and check.failures_left == 3
    assert pin_ledger.check_pin("M1", "000000").failures_left == 2  # counted from zero again


def test_the_last_allowed_failure_locks_at_once_and_tells_hq(pin_ledger):
    uid = bytes.fromhex("04a1b2c3")
    left = [pin_ledger.check_pin("M1", "999999", card_uid=uid).failures_left for _ in range(2)]
    assert left == [2, 1] and lock_events(pin_ledger) == []  # single slips are not HQ's business
    third = pin_ledger.check_pin("M1", "999999", card_uid=uid, online=True)
    assert third.locked and third.failures_left == 0
    assert lock_events(pin_ledger) == [
        {"device_id": "kiosk-01", "member_id": "M1", "failures": 3, "card_uid": "04a1b2c3"}
    ]
    # Locked means locked: the right PIN does not open it, and no redemption is offered at all.
    assert pin_ledger.check_pin("M1", PIN) == third
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.LOCKED
    assert pin_ledger.pin_requirement("M1", "drink") is PinRequirement.LOCKED
    assert len(lock_events(pin_ledger)) == 1  # one lock, one event


def test_the_lock_survives_a_restart(pin_ledger, open_ledger):
    for _ in range(3):
        pin_ledger.check_pin("M1", "999999")
    pin_ledger.close()
    reopened = open_ledger()
    assert reopened.pin_requirement("M1", "off-10") is PinRequirement.LOCKED


def test_a_member_without_a_pin_cannot_be_checked(pin_ledger):
    with pytest.raises(PinNotSet):
        pin_ledger.check_pin("M2", "1234")


def test_hq_cannot_lift_a_lock_it_has_not_heard_of_yet(pin_ledger):
    for _ in range(3):
        pin_ledger.check_pin("M1", "999999")
    # An update HQ wrote before our event reached it says "not locked": the kiosk's lock stays.
    pin_ledger.apply_member_snapshot(2, [member("M1", points=9000, pin_hash=PIN_HASH)])
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.LOCKED
    # HQ acknowledges the event and holds the lock itself: still locked, now by HQ's word.
    (event,) = [e for e in pin_ledger.outbox_pending(100) if e.type == "pin_locked"]
    pin_ledger.apply_member_snapshot(
        3, [member("M1", points=9000, pin_hash=PIN_HASH, pin_locked=True)], [event.event_id]
    )
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.LOCKED
    # The service desk unlocks at HQ: every kiosk hears it, and the count starts again.
    pin_ledger.apply_member_snapshot(4, [member("M1", points=9000, pin_hash=PIN_HASH)])
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.NEEDED
    assert pin_ledger.check_pin("M1", "999999").failures_left == 2


def test_a_lock_from_hq_reaches_this_kiosk(pin_ledger):
    pin_ledger.apply_member_snapshot(2, [member("M1", points=9000, pin_hash=PIN_HASH, pin_locked=True)])
    assert pin_ledger.pin_requirement("M1", "drink") is PinRequirement.LOCKED
    assert pin_ledger.check_pin("M1", PIN).locked


def test_a_new_pin_from_hq_starts_the_count_again(pin_ledger):
    pin_ledger.check_pin("M1", "999999")
    pin_ledger.check_pin("M1", "999999")
    pin_ledger.apply_member_snapshot(2, [member("M1", points=9000, pin_hash=OTHER_HASH)])
    assert pin_ledger.check_pin("M1", "999999").failures_left == 2
    assert pin_ledger.check_pin("M1", "1111").ok


def test_a_full_snapshot_keeps_the_count_when_nothing_changed(pin_ledger):
    pin_ledger.check_pin("M1", "999999")
    pin_ledger.apply_member_snapshot(2, [member("M1", points=9000, pin_hash=PIN_HASH)], full=True)
    assert pin_ledger.check_pin("M1", "999999").failures_left == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"pin_hash": "plain:1234"}, r"members\[0\] \(M1\): pin_hash: not a PIN hash"),
        ({"pin_locked": "yes"}, r"members\[0\] \(M1\): pin_locked must be true or false"),
    ],
)
def test_a_bad_pin_field_refuses_the_whole_update(pin_ledger, extra, message):
    with pytest.raises(InvalidSnapshot, match=message):
        pin_ledger.apply_member_snapshot(2, [member("M1", points=1, **extra)])
    assert pin_ledger.pin_requirement("M1", "off-10") is PinRequirement.NEEDED


def test_the_member_screen_learns_that_redemptions_are_locked(pin_ledger):
    assert not pin_ledger.member_view("M1").redemptions_locked
    for _ in range(3):
        pin_ledger.check_pin("M1", "999999")
    assert pin_ledger.member_view("M1").redemptions_locked


def test_the_member_screen_learns_of_a_lock_from_hq(pin_ledger):
    pin_ledger.apply_member_snapshot(2, [member("M1", points=9000, pin_hash=PIN_HASH, pin_locked=True)])
    assert pin_ledger.member_view("M1").redemptions_locked
