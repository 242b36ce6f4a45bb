"""HQ's tables (SQLAlchemy Core). The migrations in `hq.store.migrations` create them.

Money is integer fen and points are integers (BigInteger everywhere a sum can grow); times are
aware (`UtcDateTime`). Deduplication lives in keys, never in caches: (device_id, seq) for kiosk
events, an idempotency key for every till request.

`entries` is the event log: every change to a member's points, stored value, spend or tier is a
row with the rules version that decided it, so HQ's balances can be recomputed from it and
compared with the tables (bench.hq's `points_mismatch`).
"""

from __future__ import annotations

import sqlalchemy as sa

from hq.store.types import UtcDateTime

metadata = sa.MetaData()
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite INTEGER is 64-bit anyway

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

programs = sa.Table(
    "programs",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("member_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("birthday", sa.String(10)),
    sa.Column("home_store", sa.String(64)),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("tier_override", sa.String(64)),
    sa.Column("spend_fen", BIG, nullable=False, default=0),  # all time
    sa.Column("growth_points", BIG, nullable=False, default=0),  # all time
    # The tier measure's period: everything (no re-evaluation), or since the window start of the
    # member's last re-evaluation (hq.domain.tiers). Kiosks are sent these, so they place the
    # member exactly where HQ does.
    sa.Column("period_from", UtcDateTime),
    sa.Column("period_spend_fen", BIG, nullable=False, default=0),
    sa.Column("period_growth", BIG, nullable=False, default=0),
    sa.Column("balance_fen", BIG, nullable=False, default=0),
    # Points spent beyond what the lots held (offline redemptions at two kiosks): never lost.
    sa.Column("overdraft_points", BIG, nullable=False, default=0),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # 每日签到: the member's latest check-in day ("YYYY-MM-DD", the kiosk's store day) and the
    # streak on that day, fleet-wide, so the next kiosk continues it (migration 3; NULL before).
    sa.Column("checkin_last_day", sa.String(10)),
    sa.Column("checkin_streak", sa.Integer),
    # 幸运大转盘: the store day of wheel_free_used, the free spins HQ counted for the member that day
    # across kiosks, so the member's next kiosk knows (migration 6; NULL before).
    sa.Column("wheel_day", sa.String(10)),
    sa.Column("wheel_free_used", sa.Integer),
    # 生日礼: the latest year HQ recorded a birthday gift claim for the member at any kiosk, sent to
    # kiosks so the member's next kiosk refuses a second claim that year (migration 8; NULL: none).
    sa.Column("birthday_gift_year", sa.Integer),
)

cards = sa.Table(
    "cards",
    metadata,
    sa.Column("uid", sa.String(20), primary_key=True),  # hex
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id"), nullable=False, index=True),
    sa.Column("issue_no", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_counter", BIG, nullable=False, default=0),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("lot_id", sa.String(200), primary_key=True),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id"), nullable=False, index=True),
    sa.Column("points_earned", BIG, nullable=False),
    sa.Column("points_left", BIG, nullable=False),
    sa.Column("earned_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("purchase_id", sa.String(200), primary_key=True),
    sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("till_id", sa.String(64), nullable=False),
    sa.Column("order_no", sa.String(100), nullable=False),
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id"), nullable=False, index=True),
    sa.Column("amount_fen", BIG, nullable=False),
    sa.Column("paid_with", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("points", BIG, nullable=False),
    sa.Column("refunded_fen", BIG, nullable=False, default=0),
    sa.Column("points_reversed", BIG, nullable=False, default=0),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("store_id", "order_no", name="purchases_order_once"),
    # The member analytics (hq.analytics) read purchases per member in time order: with every
    # column they need in the index, PostgreSQL streams them from it (an index-only scan) instead
    # of hashing or sorting millions of rows (migration 9).
    sa.Index("purchases_member_time", "member_id", "at", "store_id", "amount_fen", "refunded_fen"),
)

till_requests = sa.Table(
    "till_requests",
    metadata,
    # Refunds and top-ups: one row per idempotency key, holding the response that was given.
    sa.Column("idempotency_key", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("entry_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("points_delta", BIG, nullable=False, default=0),
    sa.Column("balance_delta_fen", BIG, nullable=False, default=0),
    sa.Column("spend_delta_fen", BIG, nullable=False, default=0),
    sa.Column("growth_delta", BIG, nullable=False, default=0),
    sa.Column("overdraft_delta", BIG, nullable=False, default=0),
    sa.Column("lot_id", sa.String(200)),
    sa.Column("ref", sa.String(200), nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("detail", sa.JSON),
)

kiosk_events = sa.Table(
    "kiosk_events",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("seq", BIG, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("member_id", sa.String(64), index=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
)

vouchers = sa.Table(
    "voucher_registry",
    metadata,
    # Every voucher HQ knows: from the kiosk's redemption event (source kiosk) or first from a till
    # that consumed one HQ had not heard of yet (source till; member and points arrive with the
    # event). `state`: issued | used | reversed | cancelled | expired (docs/vouchers.md).
    sa.Column("voucher_id", sa.String(100), primary_key=True),
    sa.Column("short_code", sa.String(9), index=True),
    sa.Column("code", sa.Text),
    sa.Column("member_id", sa.String(64), index=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("store_id", sa.String(64)),  # the issuing kiosk's store
    sa.Column("reward_id", sa.String(64), nullable=False),
    sa.Column("points", BIG),
    sa.Column("value_fen", BIG),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("state_at", UtcDateTime),
    sa.Column("source", sa.String(8), nullable=False),  # kiosk | till
    sa.Column("event_id", sa.String(100)),  # the kiosk's redemption event, once HQ has it
    sa.Column("used_at", UtcDateTime),
    sa.Column("used_till", sa.String(64)),
    sa.Column("used_store", sa.String(64)),
    sa.Column("used_order", sa.String(100)),
    sa.Column("used_request", sa.String(100)),
    sa.Column("used_offline", sa.Boolean),
)

voucher_history = sa.Table(
    "voucher_history",
    metadata,
    # Every state change of a voucher, with who did it: the service desk's and the auditor's view.
    sa.Column("history_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("voucher_id", sa.String(100), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # issued | registered | used | reversed | cancelled
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),  # device, till or operator
    sa.Column("store_id", sa.String(64)),
    sa.Column("order_no", sa.String(100)),
    sa.Column("request_id", sa.String(100)),
    sa.Column("detail", sa.Text),
)

tills = sa.Table(
    "tills",
    metadata,
    # Per-till credentials: HQ keeps the SHA-256 of the token, never the token.
    sa.Column("till_id", sa.String(64), primary_key=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("disabled_at", UtcDateTime),
)

voucher_keys = sa.Table(
    "voucher_keys",
    metadata,
    # The key directory HQ signs for kiosks and tills (kiosk.ledger.voucher_keys).
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("public_key", sa.String(64), primary_key=True),  # base64 of the raw 32 bytes
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("valid_from", UtcDateTime, nullable=False),
    sa.Column("valid_until", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
    sa.Column("reason", sa.String(500)),
    sa.Column("added_at", UtcDateTime, nullable=False),
)

checkins = sa.Table(
    "checkins",
    metadata,
    # One check-in per member per store day, fleet-wide: the key deduplicates across kiosks (a
    # second kiosk's check-in of that day is stored as its kiosk event, outcome "duplicate").
    sa.Column("member_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("points", BIG, nullable=False),
    sa.Column("bonus", BIG, nullable=False),
    sa.Column("streak", sa.Integer, nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

wheel_spins = sa.Table(
    "wheel_spins",
    metadata,
    # Every prize-wheel spin HQ applied (hq.service.wheel_spins), with what decided its draw, for
    # the audit (hq.service.wheel): the prize must follow from `draw` and `weights`, the prizes
    # from the weights, and no kiosk may give more than a prize's stock_per_kiosk per version.
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("spin_id", sa.String(100), nullable=False),
    sa.Column("member_id", sa.String(64), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # the kiosk's store day, YYYY-MM-DD
    sa.Column("free", sa.Boolean, nullable=False),
    # A free spin beyond the rules' free spins of that day (two kiosks offline): kept, flagged.
    sa.Column("duplicate_free", sa.Boolean, nullable=False),
    sa.Column("cost", BIG, nullable=False),
    sa.Column("draw", BIG, nullable=False),  # below 2**63: fits a signed 64-bit integer
    sa.Column("weights", sa.JSON, nullable=False),  # [[prize_id, weight], ...] as the kiosk drew
    sa.Column("prize_id", sa.String(64), nullable=False),
    sa.Column("prize_kind", sa.String(16), nullable=False),
    sa.Column("points", BIG, nullable=False),  # points credited (the rules' prize)
    sa.Column("voucher_id", sa.String(100)),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("mismatch", sa.String(500)),  # what disagreed with the rules or the draw; NULL: nothing
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("wheel_spins_member_day", "member_id", "day"),
    sa.Index("wheel_spins_version", "rules_version", "device_id"),
)

birthday_gifts = sa.Table(
    "birthday_gifts",
    metadata,
    # Every birthday gift claim HQ applied (hq.service.birthday_gifts), one row per event: a
    # second claim of a member and year (two kiosks offline) is kept with `duplicate` set, since the
    # member holds its voucher; (member_id, year) is indexed, not unique, for that reason.
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("claim_id", sa.String(100), nullable=False),
    sa.Column("member_id", sa.String(64), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("voucher_id", sa.String(100), nullable=False),
    sa.Column("value_fen", BIG, nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("duplicate", sa.Boolean, nullable=False),
    sa.Column("mismatch", sa.String(500)),  # what disagreed with the rules or the birthday; NULL: nothing
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("birthday_gifts_member_year", "member_id", "year"),
)

member_pins = sa.Table(
    "member_pins",
    metadata,
    # A PIN before spending (hq/service/pins.py): the salted scrypt hash only, never the PIN, and
    # whether the member's redemptions are locked (too many wrong PINs at a kiosk) until an operator
    # unlocks them. Who did what is in `entries` (pin_set, pin_locked, pin_unlocked).
    sa.Column("member_id", sa.String(64), sa.ForeignKey("members.member_id"), primary_key=True),
    sa.Column("pin_hash", sa.String(200)),
    sa.Column("set_at", UtcDateTime),
    sa.Column("locked_at", UtcDateTime),
    sa.Column("locked_by", sa.String(200)),  # "device/event id" of the kiosk's pin_locked event
    # The last unlock: a pin_locked event a kiosk made before it (sent late from an offline
    # kiosk) is recorded but locks nothing; the operator's unlock came after it.
    sa.Column("unlocked_at", UtcDateTime),
)

member_changes = sa.Table(
    "member_changes",
    metadata,
    # The feedback outbox: a member whose kiosk-visible state changed, with the kiosk events that
    # change folded in. Written in the same transaction as the change; published in order.
    sa.Column("change_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("member_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(100)),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("published_version", sa.Integer, index=True),
)

publications = sa.Table(
    "publications",
    metadata,
    # Signed documents, committed before they are published (a transactional outbox): a crash
    # between the two re-sends the same bytes, which kiosks answer "current".
    sa.Column("publication_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("version_line", sa.String(32), nullable=False),
    sa.Column("version", BIG, nullable=False),
    sa.Column("topic", sa.String(300), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("retain", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, index=True),
    sa.UniqueConstraint("version_line", "version", name="publications_once_per_version"),
)

operators = sa.Table(
    "operators",
    metadata,
    # Named accounts for the HTTP API (hq/service/operators.py): HQ keeps the token's SHA-256 only.
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | store | admin
    sa.Column("store_id", sa.String(64)),  # a store operator's store
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("disabled_at", UtcDateTime),
)

member_snapshots = sa.Table(
    "member_snapshots",
    metadata,
    # The full member snapshot last published per scope (hq/service/snapshots.py): when the next is
    # due, and how many retained part topics it left, so a shorter one clears the rest.
    sa.Column("scope", sa.String(80), primary_key=True),  # "fleet" or "store/<id>"
    sa.Column("first_version", BIG, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("members", sa.Integer, nullable=False),
    sa.Column("published_at", UtcDateTime, nullable=False),
)

published_versions = sa.Table(
    "published_versions",
    metadata,
    sa.Column("version_line", sa.String(32), primary_key=True),
    sa.Column("version", BIG, nullable=False),
)

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("alarm_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("raised_at", UtcDateTime, nullable=False),
    sa.Column("cleared_at", UtcDateTime),
)

event_conflicts = sa.Table(
    "event_conflicts",
    metadata,
    # The same (device_id, seq) with another event id: kept for a human, never silently dropped.
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("seq", BIG, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("store_id", sa.String(64)),
    sa.Column("state", sa.String(16)),
    sa.Column("status_at", UtcDateTime),
    sa.Column("telemetry", sa.JSON),
    sa.Column("telemetry_at", UtcDateTime),
)

push_acks = sa.Table(
    "push_acks",
    metadata,
    sa.Column("push_ack_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), nullable=False, index=True),
    sa.Column("type", sa.String(32)),
    sa.Column("version", BIG),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("topic", sa.String(300)),
    sa.Column("at", UtcDateTime),
    sa.Column("received_at", UtcDateTime, nullable=False),
)

denylist = sa.Table(
    "denylist",
    metadata,
    # HQ's deny-list: blocked cards (lost, confirmed rollback, operator decision) and their review.
    sa.Column("uid", sa.String(20), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # auto | operator
    sa.Column("status", sa.String(16), nullable=False),  # blocked | released
    sa.Column("ref", sa.String(120), nullable=False),  # the event or request that blocked it
    sa.Column("blocked_at", UtcDateTime, nullable=False),
    sa.Column("released_at", UtcDateTime),
    sa.Column("released_by", sa.String(100)),
    sa.Column("note", sa.Text),
)

denylist_changes = sa.Table(
    "denylist_changes",
    metadata,
    sa.Column("change_id", BIG, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(20), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # block | release
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("published_version", BIG, index=True),
)
