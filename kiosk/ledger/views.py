"""Building the screen's view objects (kiosk.model) from the ledger's tables.

Everything here is a read: the member's standing under the current rules, their live points and
upcoming expiries, the catalog as offered to them, their vouchers with the state the clock
implies (an issued voucher past its expiry shows as expired without anyone updating a row), and
their points history: HQ's list plus this kiosk's own events HQ has not confirmed yet.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from kiosk.ledger import checkin, members, points
from kiosk.ledger.db import from_ts, ts
from kiosk.ledger.errors import UnknownMember
from kiosk.ledger.rules import Reward, Rules, evaluate_tier
from kiosk.model import HistoryItem, MemberView, RewardOption, VoucherState, VoucherView

VOUCHER_COLUMNS = (
    "voucher_id, code, short_code, reward_name, value_fen, issued_at, expires_at, state, offline,"
    " state_at, state_store, state_till"
)


def member_view(conn: sqlite3.Connection, rules: Rules, member_id: str, now: dt.datetime, tz: dt.tzinfo) -> MemberView:
    record = members.load(conn, member_id)
    standing = evaluate_tier(
        rules,
        spend_fen=record.spend_fen,
        growth_points=record.growth_points,
        tier_floor=record.tier_floor,
        tier_override=record.tier_override,
    )
    at = ts(now)
    local_now = now.astimezone(tz)
    return MemberView(
        member_id=record.member_id,
        masked_name=members.mask_name(record.name),
        tier=standing.tier.info(),
        progress=standing.progress,
        balance_fen=record.balance_fen,
        points=points.points_held(conn, member_id, at),
        expiries=points.expiries(conn, member_id, at, tz),
        birthday_today=members.birthday_today(record.birthday, local_now.date()),
        rules_version=standing.rules_version,
        as_of=local_now,
        checkin=checkin.status(conn, rules, member_id, local_now.date()),
    )


def reserved_points(conn: sqlite3.Connection, member_id: str, *, except_intent: str | None = None) -> int:
    """Points held back by prepared, not yet confirmed redemptions."""
    row = conn.execute(
        "SELECT COALESCE(SUM(cost_points), 0) FROM intents WHERE member_id = ? AND state = 'prepared' "
        "AND intent_id IS NOT ?",
        (member_id, except_intent),
    ).fetchone()
    return int(row[0])


def reward_block(
    conn: sqlite3.Connection,
    rules: Rules,
    reward: Reward,
    member_id: str,
    tier_code: str | None,
    now: dt.datetime,
    *,
    except_intent: str | None = None,
) -> str | None:
    """Why `reward` cannot be redeemed by the member now (machine code), or None.

    `tier_code`: the member's tier; only read for a reward restricted to tiers (None otherwise).

    Stock is the catalog's figure for this rules version minus what this kiosk issued or reserved
    under it; HQ's next rules version carries the stock it knows after merging every kiosk.
    """
    if reward.valid_from is not None and now < reward.valid_from:
        return "not_yet"
    if reward.valid_until is not None and now >= reward.valid_until:
        return "ended"
    if reward.tiers is not None and tier_code not in reward.tiers:
        return "tier"
    if reward.stock is not None:
        used = conn.execute(
            "SELECT (SELECT COUNT(*) FROM vouchers WHERE reward_id = ? AND rules_version = ? AND state != 'cancelled')"
            " + (SELECT COUNT(*) FROM intents WHERE reward_id = ? AND state = 'prepared' AND intent_id IS NOT ?)",
            (reward.reward_id, rules.version, reward.reward_id, except_intent),
        ).fetchone()[0]
        if used >= reward.stock:
            return "stock"
    limit = reward.per_member_limit
    if limit is not None:
        since = ts(now - dt.timedelta(days=limit.period_days)) if limit.period_days else ""
        taken = conn.execute(
            "SELECT (SELECT COUNT(*) FROM vouchers WHERE member_id = ? AND reward_id = ? AND state != 'cancelled'"
            "        AND issued_at >= ?)"
            " + (SELECT COUNT(*) FROM intents WHERE member_id = ? AND reward_id = ? AND state = 'prepared'"
            "        AND intent_id IS NOT ?)",
            (member_id, reward.reward_id, since, member_id, reward.reward_id, except_intent),
        ).fetchone()[0]
        if taken >= limit.count:
            return "limit"
    return None


def reward_options(
    conn: sqlite3.Connection, rules: Rules, member_id: str, now: dt.datetime, tz: dt.tzinfo
) -> tuple[RewardOption, ...]:
    """The catalog for one member: redeemable first, then the rest by points missing."""
    view = member_view(conn, rules, member_id, now, tz)
    spendable = view.points - reserved_points(conn, member_id)
    options = []
    for reward in rules.rewards:
        reason = reward_block(conn, rules, reward, member_id, view.tier.code, now)
        missing = max(0, reward.cost_points - spendable)
        options.append(
            RewardOption(
                reward_id=reward.reward_id,
                name=dict(reward.name),
                kind=reward.kind,
                cost_points=reward.cost_points,
                value_fen=reward.value_fen,
                validity_days=reward.validity_days,
                affordable=missing == 0,
                points_missing=missing,
                available=reason is None,
                unavailable_reason=reason,
            )
        )
    options.sort(
        key=lambda o: (
            not (o.affordable and o.available),
            not o.affordable,
            o.points_missing,
            o.cost_points,
            o.reward_id,
        )
    )
    return tuple(options)


def voucher_by_id(conn: sqlite3.Connection, voucher_id: object) -> tuple | None:
    """The VOUCHER_COLUMNS row of a voucher id, or None.

    Vouchers are keyed by serial and the id is "<device>-<serial>" (a CHECK constraint holds the
    two together), so the id is found through its serial; the id itself must match as well.
    """
    if not isinstance(voucher_id, str):
        return None
    tail = voucher_id.rpartition("-")[2]
    if not (0 < len(tail) <= 10 and tail.isascii() and tail.isdigit()):  # serials are 32-bit
        return None
    return conn.execute(
        f"SELECT {VOUCHER_COLUMNS} FROM vouchers WHERE serial = ? AND voucher_id = ?", (int(tail), voucher_id)
    ).fetchone()


def voucher_view(row: tuple, now: dt.datetime, tz: dt.tzinfo) -> VoucherView:
    voucher_id, code, short, name, value, issued, expires, state, offline, state_at, state_store, state_till = row
    expires_at = from_ts(expires, tz)
    current = VoucherState(state)
    # A reversed voucher is usable again, so it expires like an issued one.
    if current.usable and now >= expires_at:
        current = VoucherState.EXPIRED
    return VoucherView(
        voucher_id=voucher_id,
        code=code,
        short_code=short,
        reward_name=json.loads(name),
        value_fen=value,
        issued_at=from_ts(issued, tz),
        expires_at=expires_at,
        state=current,
        offline=bool(offline),
        state_at=from_ts(state_at, tz) if state_at else None,
        state_store=state_store,
        state_till=state_till,
    )


def member_vouchers(
    conn: sqlite3.Connection, member_id: str, now: dt.datetime, tz: dt.tzinfo
) -> tuple[VoucherView, ...]:
    """The member's vouchers, newest first."""
    rows = conn.execute(
        f"SELECT {VOUCHER_COLUMNS} FROM vouchers WHERE member_id = ? ORDER BY issued_at DESC, serial DESC", (member_id,)
    ).fetchall()
    return tuple(voucher_view(r, now, tz) for r in rows)


def wheel_history(conn: sqlite3.Connection, member_id: str, device_id: str, tz: dt.tzinfo) -> list[HistoryItem]:
    """This kiosk's wheel wins HQ has not acknowledged, as pending lines (kiosk.ledger.wheel; what
    a spin cost is a line of its own, from its local event)."""
    return [
        HistoryItem(kind="wheel", points=won, at=from_ts(created_at, tz), place=device_id, pending=True)
        for won, created_at in conn.execute(
            "SELECT points, created_at FROM wheel_spins WHERE member_id = ? AND acked_version IS NULL AND points > 0",
            (member_id,),
        )
    ]


def points_history(conn: sqlite3.Connection, member_id: str, device_id: str, tz: dt.tzinfo) -> tuple[HistoryItem, ...]:
    """The member's points history, newest first: HQ's items, then this kiosk's unconfirmed events.

    A local event stops being pending when HQ acknowledges it (`acked_version`), or as soon as
    HQ's history lists its voucher: an update can carry the redemption before this kiosk learns
    of the acknowledgement (one lost while the broker had no persistence), and the member must
    not see one redemption twice.
    """
    row = conn.execute("SELECT history FROM members WHERE member_id = ?", (member_id,)).fetchone()
    if row is None:
        raise UnknownMember(f"no member {member_id!r} in the local ledger")
    from_hq = json.loads(row[0]) if row[0] else []
    items = [
        HistoryItem(
            kind=item["kind"],
            points=item["points"],
            at=from_ts(item["at"], tz),
            place=item.get("store_id") or item.get("device_id"),
        )
        for item in from_hq
    ]
    in_hq = {item["voucher_id"] for item in from_hq if "voucher_id" in item}
    # Found through their spends, as points.reallocate_member finds them: every unacknowledged
    # event with points has some, and local_events has no index by member.
    for kind, pts, created_at, voucher_id in conn.execute(
        "SELECT kind, points, created_at, voucher_id FROM local_events"
        " WHERE event_id IN (SELECT event_id FROM spends WHERE member_id = ?) AND acked_version IS NULL",
        (member_id,),
    ):
        if voucher_id is None or voucher_id not in in_hq:
            items.append(HistoryItem(kind=kind, points=-pts, at=from_ts(created_at, tz), place=device_id, pending=True))
    items.extend(checkin.pending_history(conn, member_id, device_id, tz))
    items.extend(wheel_history(conn, member_id, device_id, tz))
    items.sort(key=lambda item: item.at, reverse=True)
    return tuple(items)
