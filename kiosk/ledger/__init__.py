"""The kiosk's local membership ledger on SQLite: members, points, tiers, rewards, vouchers, outbox.

Use `Ledger.open(path, device_id=..., clock=..., tz=..., voucher_key=..., offline_limits=...)`.
Module map: db (connection, pragmas, migrations), rules (tier rules + catalog), points (lots, FIFO,
expiry), checkin (每日签到: once a store day, streaks, a local lot until HQ confirms), wheel (幸运大转盘:
auditable weighted draws, free and paid spins, per-kiosk stock), birthday (生日礼 once a year, 会员日),
members,
vouchers (signed codes), voucher_keys (the key directory every verifier uses), voucher_key_store
(the directory HQ pushed), redemption (two-phase, idempotent), outbox, cards (card state +
deny-list), snapshot (HQ member snapshots), views (kiosk.model objects), demo.
"""

from kiosk.ledger.cards import CardRecordState
from kiosk.ledger.errors import (
    BirthdayGiftRefused,
    CardCounterMismatch,
    CardDenied,
    CheckinRefused,
    CorruptDatabase,
    DenylistGap,
    InsufficientPoints,
    IntentConflict,
    InvalidDenylist,
    InvalidDocument,
    InvalidRules,
    InvalidSnapshot,
    InvalidVoucherKeys,
    LedgerError,
    NoRules,
    NoVoucherKey,
    OfflineLimitReached,
    RedemptionAlreadyPending,
    RewardUnavailable,
    SchemaTooNew,
    StaleVersion,
    UnknownIntent,
    UnknownMember,
    UnknownReward,
    UnknownVoucher,
    WheelRefused,
)
from kiosk.ledger.ledger import Clock, Ledger
from kiosk.ledger.outbox import OutboxEvent
from kiosk.ledger.redemption import OfflineLimits, PendingRedemption
from kiosk.ledger.vouchers import (
    MalformedVoucherCode,
    VerifyResult,
    VerifyStatus,
    encode_voucher_code,
    parse_voucher_code,
    short_code,
    verify_voucher_code,
)

__all__ = [
    "BirthdayGiftRefused",
    "CardCounterMismatch",
    "CardDenied",
    "CardRecordState",
    "CheckinRefused",
    "Clock",
    "CorruptDatabase",
    "DenylistGap",
    "InsufficientPoints",
    "IntentConflict",
    "InvalidDenylist",
    "InvalidDocument",
    "InvalidRules",
    "InvalidSnapshot",
    "InvalidVoucherKeys",
    "Ledger",
    "LedgerError",
    "MalformedVoucherCode",
    "NoRules",
    "NoVoucherKey",
    "OfflineLimitReached",
    "OfflineLimits",
    "OutboxEvent",
    "PendingRedemption",
    "RedemptionAlreadyPending",
    "RewardUnavailable",
    "SchemaTooNew",
    "StaleVersion",
    "UnknownIntent",
    "UnknownMember",
    "UnknownReward",
    "UnknownVoucher",
    "WheelRefused",
    "VerifyResult",
    "VerifyStatus",
    "encode_voucher_code",
    "parse_voucher_code",
    "short_code",
    "verify_voucher_code",
]
