"""Redeeming points for a voucher, in two idempotent phases keyed by the intent id.

`prepare` checks everything (member, rules, reward availability, points net of other reservations,
card deny-list, offline limits) and records the intent as "prepared": that reserves the points and
the stock, survives a restart, and tells the card writer which transaction counter to write
(the ledger's last counter for the card + 1). `confirm` then, in ONE transaction, takes the points
from the oldest lots, creates the signed voucher, records the card counter, stores the local event
and writes the outbox event. Repeating either call with the same intent id returns the same result,
so a double tap, a retried request or a restart between the phases yields exactly one voucher.

A card has at most one redemption prepared at a time (refused with RedemptionAlreadyPending, and a
partial unique index on `intents` says so too). Its counter is the card's: a second one prepared
while the first waited for its card write would get the same counter, and one card write would
then "confirm" both. `counter_owner` tells the card step which redemption a counter belongs to.

The `intents` table holds the open intents (prepared, or abandoned so the id cannot be reused).
A confirmed intent is recorded by its voucher, which carries the intent id (unique), the card
and counter written and when it was prepared: confirm moves the intent there in its one
transaction. `redeem_in_tx` is both phases in one transaction (no card write in between): it runs
the same checks and writes no intent row at all, only the voucher, so its commit writes fewer pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from kiosk.ledger import cards, members, outbox, points
from kiosk.ledger.db import from_ts, ts
from kiosk.ledger.errors import (
    CardCounterMismatch,
    CardDenied,
    InsufficientPoints,
    IntentConflict,
    NoRules,
    OfflineLimitReached,
    RedemptionAlreadyPending,
    RewardUnavailable,
    UnknownIntent,
    UnknownReward,
    UnknownVoucher,
)
from kiosk.ledger.points import LotBalance
from kiosk.ledger.rules import Reward, Rules, evaluate_tier
from kiosk.ledger.views import reserved_points, reward_block, voucher_by_id, voucher_view
from kiosk.ledger.vouchers import Signer, encode_voucher_code, short_code, voucher_id
from kiosk.model import VoucherState, VoucherView

#: Namespace for event ids derived from intent ids: the same intent always yields the same event id.
_EVENT_NS = uuid.UUID("6f1d2c1e-4a53-4be4-9a77-0b0e3f6a2d51")
_EVENT_NS_BYTES = _EVENT_NS.bytes
#: meta key of the serial floor (schema 1 counted serials there; vouchers are never deleted).
_SERIAL_KEY = "voucher_serial"


@dataclass(frozen=True)
class OfflineLimits:
    """Per-member caps on redemptions made while HQ is unreachable, per local calendar day."""

    points_per_day: int
    redemptions_per_day: int


@dataclass(frozen=True)
class PendingRedemption:
    intent_id: str
    member_id: str
    reward_id: str
    card_uid: bytes | None
    online: bool
    cost_points: int
    points_before: int
    points_after: int
    card_counter: int | None  # the value the card must be written to; None without a card
    created_at: dt.datetime
    voucher_id: str | None = None  # set once confirmed


class Context(Protocol):
    # Read-only: redemption only reads them, and a Ledger may hold narrower types (a ZoneInfo, its signer).
    @property
    def conn(self) -> sqlite3.Connection: ...
    @property
    def device_id(self) -> str: ...
    @property
    def tz(self) -> dt.tzinfo: ...
    @property
    def voucher_signer(self) -> Signer: ...
    @property
    def offline_limits(self) -> OfflineLimits: ...


def _intent_row(conn: sqlite3.Connection, intent_id: str) -> tuple | None:
    """(intent_id, member_id, reward_id, card_uid, online, state, card_counter, cost_points, voucher_id,
    created_at, rules_version) of an open intent or, once confirmed, of its voucher; None if unknown."""
    return conn.execute(
        "SELECT intent_id, member_id, reward_id, card_uid, online, state, card_counter, cost_points, NULL,"
        " created_at, rules_version FROM intents WHERE intent_id = ?1"
        " UNION ALL"
        " SELECT intent_id, member_id, reward_id, card_uid, 1 - offline, 'confirmed', card_counter, cost_points,"
        " voucher_id, prepared_at, prepared_rules_version FROM vouchers WHERE intent_id = ?1",
        (intent_id,),
    ).fetchone()


def _pending_from_row(ctx: Context, row: tuple, now: dt.datetime) -> PendingRedemption:
    intent_id, member_id, reward_id, card_uid, online, state, counter, cost, vid, created, _ = row
    held = points.points_held(ctx.conn, member_id, ts(now))
    spendable = held - reserved_points(ctx.conn, member_id, except_intent=intent_id)
    return PendingRedemption(
        intent_id=intent_id,
        member_id=member_id,
        reward_id=reward_id,
        card_uid=bytes(card_uid) if card_uid is not None else None,
        online=bool(online),
        cost_points=cost,
        points_before=held if state == "confirmed" else spendable,
        points_after=held if state == "confirmed" else spendable - cost,
        card_counter=counter,
        created_at=from_ts(created, ctx.tz),
        voucher_id=vid,
    )


def _check_offline_limits(ctx: Context, member_id: str, cost: int, now: dt.datetime, intent_id: str) -> None:
    local = now.astimezone(ctx.tz)
    day_start = ts(local.replace(hour=0, minute=0, second=0, microsecond=0))
    count, spent = points.offline_spent_today(ctx.conn, member_id, day_start, intent_id)
    # Offline check-ins and spins draw on the same daily budget (kiosk.ledger.checkin says why).
    spent += points.offline_gift_points(ctx.conn, member_id, day_start)
    limits = ctx.offline_limits
    if count + 1 > limits.redemptions_per_day:
        raise OfflineLimitReached(
            member_id, "redemptions_per_day", f"{count} of {limits.redemptions_per_day} offline redemptions used today"
        )
    if spent + cost > limits.points_per_day:
        raise OfflineLimitReached(
            member_id,
            "points_per_day",
            f"{spent} + {cost} points exceed {limits.points_per_day} offline points per day",
        )


def event_id_for(device_id: str, intent_id: str) -> str:
    """The redemption event's id: str(uuid5(_EVENT_NS, "<device>/<intent>")), built directly.

    uuid.uuid5 builds and validates two UUID objects per call; this runs once per redemption.
    """
    digest = bytearray(hashlib.sha1(_EVENT_NS_BYTES + f"{device_id}/{intent_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _check_intent_id(intent_id: str) -> None:
    if not isinstance(intent_id, str) or not intent_id:
        raise IntentConflict(f"intent id must be a non-empty string, got {intent_id!r}")


def _existing_pending(
    ctx: Context, existing: tuple, member_id: str, reward_id: str, uid: bytes | None, now: dt.datetime
) -> PendingRedemption:
    """A repeated prepare: the same request gets the same answer, another request is refused."""
    if (existing[1], existing[2], bytes(existing[3]) if existing[3] is not None else None) != (
        member_id,
        reward_id,
        uid,
    ):
        raise IntentConflict(f"intent {existing[0]} was prepared for another member, reward or card")
    if existing[5] == "abandoned":
        raise IntentConflict(f"intent {existing[0]} was abandoned; start a new one")
    return _pending_from_row(ctx, existing, now)


def _check_new(
    ctx: Context,
    rules: Rules | None,
    intent_id: str,
    member_id: str,
    reward_id: str,
    uid: bytes | None,
    online: bool,
    now: dt.datetime,
    at: str,
) -> tuple[Reward, int | None, int, list[LotBalance]]:
    """Everything a new redemption must pass; returns (reward, card counter to write, spendable, live lots)."""
    conn = ctx.conn
    if rules is None:
        raise NoRules("no rules/catalog from HQ yet; redemptions are unavailable")
    record = members.load(conn, member_id)
    reward = rules.reward(reward_id)
    if reward is None:
        raise UnknownReward(f"reward {reward_id!r} is not in rules version {rules.version}")
    counter = None
    if uid is not None:
        reason = cards.denial(conn, uid)
        if reason is not None:
            raise CardDenied(uid, reason)
        state = cards.card_state(conn, uid)
        if state is not None and state.member_id != member_id:
            raise CardDenied(uid, "other_member")
        waiting = conn.execute(
            "SELECT intent_id FROM intents WHERE card_uid = ? AND state = 'prepared'", (uid,)
        ).fetchone()
        if waiting is not None:
            raise RedemptionAlreadyPending(waiting[0])
        counter = (state.last_counter if state else 0) + 1
    tier_code = None
    if reward.tiers is not None:  # only a tier-restricted reward needs the member's tier
        tier_code = evaluate_tier(
            rules,
            spend_fen=record.spend_fen,
            growth_points=record.growth_points,
            tier_floor=record.tier_floor,
            tier_override=record.tier_override,
        ).tier.code
    blocked = reward_block(conn, rules, reward, member_id, tier_code, now)
    if blocked is not None:
        raise RewardUnavailable(reward_id, blocked)
    held, lots = points.held_and_lots(conn, member_id, at)
    spendable = held - reserved_points(conn, member_id)
    if spendable < reward.cost_points:
        raise InsufficientPoints(member_id, reward.cost_points, spendable)
    if not online:
        _check_offline_limits(ctx, member_id, reward.cost_points, now, intent_id)
    return reward, counter, spendable, lots


def prepare_in_tx(
    ctx: Context,
    rules: Rules | None,
    intent_id: str,
    member_id: str,
    reward_id: str,
    card_uid: bytes | None,
    online: bool,
    now: dt.datetime,
) -> PendingRedemption:
    """The prepare phase inside the caller's transaction."""
    _check_intent_id(intent_id)
    uid = bytes(card_uid) if card_uid is not None else None
    existing = _intent_row(ctx.conn, intent_id)
    if existing is not None:
        return _existing_pending(ctx, existing, member_id, reward_id, uid, now)
    at = ts(now)
    reward, counter, spendable, _ = _check_new(ctx, rules, intent_id, member_id, reward_id, uid, online, now, at)
    assert rules is not None  # _check_new raised NoRules otherwise
    ctx.conn.execute(
        "INSERT INTO intents(intent_id, member_id, reward_id, card_uid, online, state, card_counter, cost_points,"
        " rules_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'prepared', ?, ?, ?, ?, ?)",
        (intent_id, member_id, reward_id, uid, int(online), counter, reward.cost_points, rules.version, at, at),
    )
    return PendingRedemption(
        intent_id=intent_id,
        member_id=member_id,
        reward_id=reward_id,
        card_uid=uid,
        online=online,
        cost_points=reward.cost_points,
        points_before=spendable,
        points_after=spendable - reward.cost_points,
        card_counter=counter,
        created_at=now,
    )


def confirmed_voucher(ctx: Context, voucher: str, now: dt.datetime) -> VoucherView:
    row = voucher_by_id(ctx.conn, voucher)
    if row is None:  # the intent says confirmed, so its voucher exists: anything else is damage
        raise UnknownVoucher(f"voucher {voucher!r} of a confirmed intent is missing from the ledger")
    return voucher_view(row, now, ctx.tz)


def _next_serial(conn: sqlite3.Connection) -> int:
    """One more than any serial issued: vouchers are never deleted, and schema 1's counter is the floor."""
    return conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(serial) FROM vouchers), 0),"
        " COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0)) + 1",
        (_SERIAL_KEY,),
    ).fetchone()[0]


def _issue(
    ctx: Context,
    rules: Rules,
    reward: Reward,
    cost: int,
    intent_id: str,
    member_id: str,
    card_uid: bytes | None,
    online: bool,
    counter: int | None,
    now: dt.datetime,
    at: str,
    lots: list[LotBalance],
    prepared: tuple[str, int],
) -> VoucherView:
    """The confirm work for a checked redemption: spends, voucher, card counter, local event, outbox event.

    `cost`: the points reserved at prepare (the price the member was shown); `at`: ts(now);
    `lots`: the member's live lots read in this transaction at `now`; `prepared`: when and under
    which rules version the intent was prepared (the voucher keeps them as the intent's record).
    """
    conn = ctx.conn
    event_id = event_id_for(ctx.device_id, intent_id)
    minted = mint_voucher(ctx, reward.reward_id, reward.value_fen, reward.validity_days, now)
    serial, vid, code, short, issued_at, expires_at = minted
    allocation = points.fifo_allocation(lots, cost)
    # The outbox first: its sequence number also orders the local event among same-instant ones.
    event = outbox.append(
        conn,
        event_id=event_id,
        type="redemption",
        created_at=now,
        offline=not online,
        payload={
            "device_id": ctx.device_id,
            "intent_id": intent_id,
            "member_id": member_id,
            "reward_id": reward.reward_id,
            "points": cost,
            "lots": [[lot, pts] for lot, pts in allocation],
            "voucher_id": vid,
            "voucher_code": code,
            "value_fen": reward.value_fen,
            "issued_at": issued_at.isoformat(),
            "expires_at": expires_at.isoformat(),
            "card_uid": card_uid.hex() if card_uid is not None else None,
            "card_counter": counter,
            "rules_version": rules.version,
            "offline": not online,
        },
    )
    conn.execute(
        "INSERT INTO local_events(event_id, member_id, kind, points, created_at, rules_version, intent_id,"
        " voucher_id, offline, seq) VALUES (?, ?, 'redemption', ?, ?, ?, ?, ?, ?, ?)",
        (event_id, member_id, cost, at, rules.version, intent_id, vid, 1 - int(online), event.seq),
    )
    points.record_spends(conn, member_id, event_id, allocation)
    store_voucher(
        ctx,
        minted,
        member_id=member_id,
        reward_id=reward.reward_id,
        name_json=reward.name_json,
        value_fen=reward.value_fen,
        cost=cost,
        online=online,
        intent_id=intent_id,
        event_id=event_id,
        rules_version=rules.version,
        card=(card_uid, counter),
        prepared=prepared,
    )
    if card_uid is not None and counter is not None:  # a card's intent always has its counter
        cards.record_counter(conn, card_uid, counter, now)
    return minted.view(ctx.tz, dict(reward.name), reward.value_fen, online, now)


class MintedVoucher(NamedTuple):
    """A voucher signed and numbered, not yet stored (its id and code go into the event first)."""

    serial: int
    voucher_id: str
    code: str
    short_code: str
    issued_at: dt.datetime
    expires_at: dt.datetime

    def view(self, tz: dt.tzinfo, name: dict[str, str], value_fen: int, online: bool, now: dt.datetime) -> VoucherView:
        return VoucherView(
            voucher_id=self.voucher_id,
            code=self.code,
            short_code=self.short_code,
            reward_name=name,
            value_fen=value_fen,
            issued_at=self.issued_at.astimezone(tz),
            expires_at=self.expires_at.astimezone(tz),
            state=VoucherState.ISSUED if now < self.expires_at else VoucherState.EXPIRED,
            offline=not online,
        )


def mint_voucher(ctx: Context, reward_id: str, value_fen: int, validity_days: int, now: dt.datetime) -> MintedVoucher:
    """Number and sign the next voucher of this kiosk (redemptions and wheel prizes alike)."""
    serial = _next_serial(ctx.conn)
    issued_at = now.replace(microsecond=0)  # the code carries whole seconds; keep the row identical
    expires_at = issued_at + dt.timedelta(days=validity_days)
    code = encode_voucher_code(
        ctx.voucher_signer,
        device_id=ctx.device_id,
        serial=serial,
        issued_at=issued_at,
        expires_at=expires_at,
        value_fen=value_fen,
        reward_id=reward_id,
    )
    return MintedVoucher(serial, voucher_id(ctx.device_id, serial), code, short_code(code), issued_at, expires_at)


def store_voucher(
    ctx: Context,
    minted: MintedVoucher,
    *,
    member_id: str,
    reward_id: str,
    name_json: str,
    value_fen: int,
    cost: int,
    online: bool,
    intent_id: str,
    event_id: str,
    rules_version: int,
    card: tuple[bytes | None, int | None],
    prepared: tuple[str, int],
) -> None:
    """The voucher's row: `intent_id` is unique (a redemption's intent, a wheel spin's id)."""
    ctx.conn.execute(
        "INSERT INTO vouchers(voucher_id, serial, member_id, reward_id, reward_name, value_fen, cost_points, code,"
        " short_code, issued_at, expires_at, state, offline, intent_id, event_id, rules_version, card_uid,"
        " card_counter, prepared_at, prepared_rules_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'issued', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            minted.voucher_id,
            minted.serial,
            member_id,
            reward_id,
            name_json,
            value_fen,
            cost,
            minted.code,
            minted.short_code,
            ts(minted.issued_at),
            ts(minted.expires_at),
            1 - int(online),
            intent_id,
            event_id,
            rules_version,
            *card,
            *prepared,
        ),
    )


def confirm_in_tx(
    ctx: Context, rules: Rules | None, intent_id: str, card_counter: int | None, now: dt.datetime
) -> VoucherView:
    """The confirm phase inside the caller's transaction: points, voucher, counter, event, outbox."""
    conn = ctx.conn
    row = _intent_row(conn, intent_id)
    if row is None:
        raise UnknownIntent(f"no redemption prepared under intent {intent_id!r}")
    _, member_id, reward_id, card_uid, online, state, expected, cost, vid, prepared_at, prepared_rules = row
    if state == "confirmed":
        return confirmed_voucher(ctx, vid, now)
    if state == "abandoned":
        raise IntentConflict(f"intent {intent_id} was abandoned and cannot be confirmed")
    if card_uid is not None and card_counter != expected:
        raise CardCounterMismatch(f"intent {intent_id}: card must be written to counter {expected}, got {card_counter}")
    if rules is None:
        raise NoRules("no rules/catalog from HQ")
    reward = rules.reward(reward_id)
    if reward is None:  # a rules change withdrew it between the phases
        raise RewardUnavailable(reward_id, "withdrawn")
    at = ts(now)
    # Reservations protect against other redemptions, not against the clock: a lot can lapse
    # between the phases, so the points are checked again.
    held, lots = points.held_and_lots(conn, member_id, at)
    if held < cost:
        raise InsufficientPoints(member_id, cost, held)
    voucher = _issue(
        ctx,
        rules,
        reward,
        cost,
        intent_id,
        member_id,
        bytes(card_uid) if card_uid is not None else None,
        bool(online),
        expected,
        now,
        at,
        lots,
        (prepared_at, prepared_rules),
    )
    # The voucher is now the intent's record (its intent_id is unique there).
    conn.execute("DELETE FROM intents WHERE intent_id = ?", (intent_id,))
    return voucher


def redeem_in_tx(
    ctx: Context,
    rules: Rules | None,
    intent_id: str,
    member_id: str,
    reward_id: str,
    card_uid: bytes | None,
    online: bool,
    now: dt.datetime,
) -> VoucherView:
    """Prepare and confirm in the caller's transaction; a new intent is recorded by its voucher only.

    A repeated call (the intent exists) behaves like prepare then confirm: the same voucher, or
    the refusal prepare or confirm would give.
    """
    _check_intent_id(intent_id)
    uid = bytes(card_uid) if card_uid is not None else None
    existing = _intent_row(ctx.conn, intent_id)
    if existing is not None:
        pending = _existing_pending(ctx, existing, member_id, reward_id, uid, now)
        return confirm_in_tx(ctx, rules, intent_id, pending.card_counter, now)
    at = ts(now)
    reward, counter, _, lots = _check_new(ctx, rules, intent_id, member_id, reward_id, uid, online, now, at)
    assert rules is not None  # _check_new raised NoRules otherwise
    return _issue(
        ctx,
        rules,
        reward,
        reward.cost_points,
        intent_id,
        member_id,
        uid,
        online,
        counter,
        now,
        at,
        lots,
        (at, rules.version),
    )


def abandon_in_tx(ctx: Context, intent_id: str, now: dt.datetime) -> bool:
    """Release a prepared redemption; True if one was released. Confirmed ones are left alone."""
    return (
        ctx.conn.execute(
            "UPDATE intents SET state = 'abandoned', updated_at = ? WHERE intent_id = ? AND state = 'prepared'",
            (ts(now), intent_id),
        ).rowcount
        > 0
    )


def pending_for_card(ctx: Context, uid: bytes, now: dt.datetime) -> PendingRedemption | None:
    """The redemption waiting for this card's write (there is at most one), or None."""
    row = ctx.conn.execute(
        "SELECT intent_id, member_id, reward_id, card_uid, online, state, card_counter, cost_points, NULL, "
        "created_at, rules_version FROM intents WHERE card_uid = ? AND state = 'prepared'",
        (bytes(uid),),
    ).fetchone()
    return _pending_from_row(ctx, row, now) if row else None


def counter_owner(conn: sqlite3.Connection, uid: bytes, member_id: str, counter: int) -> str | None:
    """The intent id of the redemption that counter `counter` of member `member_id`'s card `uid`
    belongs to, or None.

    A voucher issued with that counter owns it; failing that, the redemption prepared for the card
    with that counter. A card that already reads `counter` was written by its owner only: any
    other redemption finding the card there must not count that write as its own.
    """
    row = conn.execute(
        "SELECT 0 AS rank, intent_id FROM vouchers WHERE member_id = ?1 AND card_uid = ?2 AND card_counter = ?3"
        " UNION ALL"
        " SELECT 1, intent_id FROM intents WHERE card_uid = ?2 AND state = 'prepared' AND card_counter = ?3"
        " ORDER BY rank LIMIT 1",
        (member_id, bytes(uid), int(counter)),
    ).fetchone()
    return row[1] if row else None
