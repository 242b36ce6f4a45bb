"""The ledger's exception tree: everything derives from LedgerError (itself a KioskError).

Builtin parents are added where they fit, so callers that only know Python's vocabulary
(`ValueError` for a bad document, `LookupError` for an unknown id) still catch the right things.
"""

from __future__ import annotations

from kiosk.errors import KioskError


class LedgerError(KioskError):
    """Base of every error the ledger raises on purpose."""


class CorruptDatabase(LedgerError, RuntimeError):
    """The SQLite file failed its integrity check or is not a database at all."""

    def __init__(self, path: object, detail: str):
        self.path = path
        self.detail = detail
        super().__init__(
            f"ledger database {path} is corrupt ({detail}); the kiosk refuses to use it. "
            f"To rebuild: stop the kiosk, move the file (and its -wal/-shm companions) aside, "
            f"e.g. with Ledger.quarantine(path), and start again: the kiosk creates an empty "
            f"ledger and resyncs members, rules and the deny-list from HQ."
        )


class SchemaTooNew(LedgerError, RuntimeError):
    """The database was written by a newer kiosk version than this one."""


class UnknownMember(LedgerError, LookupError):
    """No member with that id is in the local replica."""


class UnknownReward(LedgerError, LookupError):
    """The current rules document has no reward with that id."""


class UnknownIntent(LedgerError, LookupError):
    """No redemption was prepared under that intent id."""


class UnknownVoucher(LedgerError, LookupError):
    """No voucher with that id is in the ledger."""


class NoRules(LedgerError):
    """No tier rules / catalog document from HQ has been applied yet."""


class InsufficientPoints(LedgerError):
    """The member's live points (minus reservations) do not cover the reward."""

    def __init__(self, member_id: str, needed: int, available: int):
        self.member_id = member_id
        self.needed = needed
        self.available = available
        super().__init__(f"member {member_id} needs {needed} points but has {available} available")


class OfflineLimitReached(LedgerError):
    """An offline redemption would exceed the member's per-day offline limits."""

    def __init__(self, member_id: str, limit: str, detail: str):
        self.member_id = member_id
        self.limit = limit  # "points_per_day" or "redemptions_per_day"
        super().__init__(f"offline limit {limit} reached for member {member_id}: {detail}")


class CardDenied(LedgerError):
    """The card is on the deny-list, not active, or belongs to another member."""

    def __init__(self, uid: bytes, reason: str):
        self.uid = uid
        self.reason = reason
        super().__init__(f"card {uid.hex()} denied: {reason}")


class CheckinRefused(LedgerError):
    """No check-in now: `reason` is "not_offered" (the rules have none, or it is switched off) or
    "already_today" (this member checked in today, here or, as HQ said, at another kiosk)."""

    def __init__(self, member_id: str, reason: str):
        self.member_id = member_id
        self.reason = reason
        super().__init__(f"member {member_id} cannot check in: {reason}")


class BirthdayGiftRefused(LedgerError):
    """No birthday gift now: `reason` is "not_offered", "not_now" (outside the claim window) or
    "claimed" (this year's gift was claimed, here or, as HQ said, at another kiosk)."""

    def __init__(self, member_id: str, reason: str):
        self.member_id = member_id
        self.reason = reason
        super().__init__(f"member {member_id} cannot claim a birthday gift: {reason}")


class WheelRefused(LedgerError):
    """No spin now: `reason` is "not_offered", "paid_limit" (no free spin left and no more paid
    ones today), "offline_limit" (the offline spins of the day are used) or "no_prizes" (every
    prize is out of this kiosk's stock)."""

    def __init__(self, member_id: str, reason: str):
        self.member_id = member_id
        self.reason = reason
        super().__init__(f"member {member_id} cannot spin the wheel: {reason}")


class RewardUnavailable(LedgerError):
    """The reward exists but may not be redeemed now (tier, stock, dates, per-member limit)."""

    def __init__(self, reward_id: str, reason: str):
        self.reward_id = reward_id
        self.reason = reason  # machine code, same as RewardOption.unavailable_reason
        super().__init__(f"reward {reward_id} unavailable: {reason}")


class IntentConflict(LedgerError, ValueError):
    """An intent id was reused for a different request, or is in a state that forbids the call."""


class RedemptionAlreadyPending(LedgerError):
    """The card still owes a prepared redemption its card write; no second one is prepared for it.

    Two redemptions waiting on one card would both be written the same counter, and the next tap
    would confirm both. The pending one is finished by presenting the card again, or released.
    """

    def __init__(self, intent_id: str):
        self.intent_id = intent_id  # the redemption that is pending
        super().__init__(f"redemption {intent_id} is still pending on this card; present the card to finish it first")


class CardCounterMismatch(LedgerError, ValueError):
    """confirm_redemption got a card counter other than the one prepare asked to write."""


class InvalidDocument(LedgerError, ValueError):
    """An HQ document (rules, snapshot, deny-list) is malformed; the message says exactly where."""


class InvalidRules(InvalidDocument):
    """The tier rules / rewards catalog document is invalid."""


class InvalidSnapshot(InvalidDocument):
    """A member snapshot entry is invalid."""


class InvalidDenylist(InvalidDocument):
    """A deny-list document is invalid."""


class InvalidVoucherKeys(InvalidDocument):
    """A voucher key directory document is invalid."""


class NoVoucherKey(LedgerError):
    """The ledger was opened without the voucher signing key (to look vouchers up), and asked to sign one."""


class StaleVersion(LedgerError, ValueError):
    """An HQ document's version is not newer than the one already applied."""


class DenylistGap(LedgerError, ValueError):
    """A deny-list delta was built on another base version than the one the kiosk holds."""
