"""The prize wheel (幸运大转盘): free spins a day, paid spins for points, weighted prizes.

A spin is one transaction: the draw, what it cost (points taken FIFO, like a redemption's), what
it gave (points into a local lot, or a signed voucher exactly like a redemption's), the spin's row
and a `wheel_spin` event for HQ.

**The draw is auditable.** `draw` is a random integer below 2**63 (the caller's source: the
kiosk uses the OS's); the segment is the one whose cumulative weight interval holds
`draw % total` over the prizes still available, in the rules' order. The event carries `draw`
and the weights it was taken over, so HQ recomputes every outcome from the event alone and
checks the fleet's outcomes against the weights (hq.service.wheel, a chi-square test in the
tests). The modulo's bias is at most total/2**63 (below 1e-12 for any allowed wheel).

**Free spins** are counted per member and store day, fleet-wide as far as HQ has said
(`members.wheel_day`/`wheel_free_used`) plus this kiosk's spins HQ has not acknowledged yet.
Paid spins and offline spins are capped per member and day at this kiosk.

**Stock** (`stock_per_kiosk`) is per kiosk and rules version: a kiosk never gives more of a prize
than its own stock, online or offline, so the fleet never gives more than stock x kiosks. A
prize out of stock drops out of the draw (its weight with it) and shows greyed on the wheel.
There is no synchronous path to HQ to share one fleet-wide counter; per-kiosk stock is what
stays true when the link is down (physical prizes sit in a store anyway).

**Offline** a spin counts against the offline limits: its cost and the largest points prize it
could give count in the member's offline points per day (as check-ins do), a wheel with voucher
prizes needs a free offline redemption of the day (a voucher won offline is counted as one), and
`offline_spins_per_day` caps the spins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence

from kiosk.ledger import outbox, points
from kiosk.ledger.db import ts
from kiosk.ledger.errors import InsufficientPoints, OfflineLimitReached, UnknownMember, WheelRefused
from kiosk.ledger.redemption import Context, mint_voucher, store_voucher
from kiosk.ledger.rules import Prize, Rules, Wheel
from kiosk.ledger.views import reserved_points, voucher_by_id, voucher_view
from kiosk.model import SpinResult, WheelSegment, WheelStatus

#: Draws are integers in [0, DRAW_BOUND): they fit SQLite's signed 64-bit INTEGER.
DRAW_BOUND = 2**63
#: Lot ids of points won on the wheel, standing until HQ confirms them (like check-in lots).
LOT_PREFIX = points.LOCAL_LOT_PREFIXES[1]
_LOCAL_LOT_DAYS = 3660
_EVENT_NS = uuid.UUID("b3f4b6a2-7c51-4c8e-9d3a-0f6e2a9c5d17")


def event_id_for(device_id: str, spin_id: str) -> str:
    """The spin event's id: the same device and spin id always give the same id."""
    digest = hashlib.sha1(_EVENT_NS.bytes + f"{device_id}/{spin_id}".encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=5))


def pick(draw: int, weights: Sequence[tuple[str, int]]) -> int:
    """The index in `weights` that `draw` selects: the interval of cumulative weight holding
    `draw % total`. HQ's audit calls this same function on the event's figures."""
    total = sum(w for _, w in weights)
    if total <= 0:
        raise ValueError("no weight to draw from")
    ticket = draw % total
    for index, (_, weight) in enumerate(weights):
        if ticket < weight:
            return index
        ticket -= weight
    raise AssertionError("unreachable: ticket < total")


def _given_here(conn: sqlite3.Connection, rules_version: int) -> dict[str, int]:
    """Prizes this kiosk gave under `rules_version`, by prize id (what stock_per_kiosk counts)."""
    return {
        prize_id: int(n)
        for prize_id, n in conn.execute(
            "SELECT prize_id, COUNT(*) FROM wheel_spins WHERE rules_version = ? GROUP BY prize_id", (rules_version,)
        )
    }


def _in_stock(wheel: Wheel, given: dict[str, int]) -> list[Prize]:
    return [p for p in wheel.prizes if p.stock_per_kiosk is None or given.get(p.prize_id, 0) < p.stock_per_kiosk]


def _day_counts(conn: sqlite3.Connection, member_id: str, day: dt.date) -> tuple[int, int, int]:
    """(free spins used fleet-wide, paid spins here, offline spins here) today."""
    row = conn.execute("SELECT wheel_day, wheel_free_used FROM members WHERE member_id = ?", (member_id,)).fetchone()
    if row is None:
        raise UnknownMember(f"no member {member_id!r} in the local ledger")
    hq_free = int(row[1] or 0) if row[0] == day.isoformat() else 0
    local = conn.execute(
        "SELECT COALESCE(SUM(free AND acked_version IS NULL), 0), COALESCE(SUM(NOT free), 0),"
        " COALESCE(SUM(offline), 0) FROM wheel_spins WHERE member_id = ? AND day = ?",
        (member_id, day.isoformat()),
    ).fetchone()
    return hq_free + int(local[0]), int(local[1]), int(local[2])


def _next_spin(
    wheel: Wheel, counts: tuple[int, int, int], online: bool, spendable: int
) -> tuple[bool, int, str | None]:
    """(free, cost, why not) of the member's next spin today; `counts` from `_day_counts`."""
    free_used, paid, offline_spins = counts
    if not online and offline_spins >= wheel.offline_spins_per_day:
        return False, 0, "offline_limit"
    if free_used < wheel.free_spins_per_day:
        return True, 0, None
    cost = wheel.spin_cost_points
    if cost == 0 or paid >= wheel.paid_spins_per_day:
        return False, cost, "paid_limit"
    if spendable < cost:
        return False, cost, "points"
    return False, cost, None


def status(
    conn: sqlite3.Connection, rules: Rules, member_id: str, now: dt.datetime, tz: dt.tzinfo, online: bool
) -> WheelStatus | None:
    """The wheel as the member screen and the wheel screen show it; None when there is none."""
    wheel = rules.wheel
    if wheel is None or not wheel.enabled:
        return None
    day = now.astimezone(tz).date()
    spendable = points.points_held(conn, member_id, ts(now)) - reserved_points(conn, member_id)
    counts = _day_counts(conn, member_id, day)
    free, cost, reason = _next_spin(wheel, counts, online, spendable)
    available = {p.prize_id for p in _in_stock(wheel, _given_here(conn, rules.version))}
    if reason is None and not available:
        reason = "no_prizes"
    free_used = counts[0]
    return WheelStatus(
        segments=tuple(
            WheelSegment(p.prize_id, p.kind, dict(p.name), available=p.prize_id in available) for p in wheel.prizes
        ),
        free_left=max(0, wheel.free_spins_per_day - free_used),
        cost_points=0 if free else cost,
        can_spin=reason is None,
        reason=reason,
    )


def _check_offline(
    conn: sqlite3.Connection,
    ctx: Context,
    wheel: Wheel,
    member_id: str,
    cost: int,
    now: dt.datetime,
) -> None:
    limits = ctx.offline_limits
    day_start = ts(now.astimezone(ctx.tz).replace(hour=0, minute=0, second=0, microsecond=0))
    count, spent = points.offline_spent_today(conn, member_id, day_start)
    used = spent + points.offline_gift_points(conn, member_id, day_start)
    worst = cost + wheel.max_points_prize
    if used + worst > limits.points_per_day:
        raise OfflineLimitReached(
            member_id,
            "points_per_day",
            f"{used} + {worst} points exceed {limits.points_per_day} offline points per day",
        )
    if any(p.kind == "voucher" for p in wheel.prizes) and count + 1 > limits.redemptions_per_day:
        raise OfflineLimitReached(
            member_id, "redemptions_per_day", f"{count} of {limits.redemptions_per_day} offline redemptions used today"
        )


def spin_in_tx(
    ctx: Context,
    rules: Rules | None,
    *,
    spin_id: str,
    member_id: str,
    online: bool,
    draw: int,
    now: dt.datetime,
) -> SpinResult:
    """Spin the wheel once for the member (call inside a transaction). A repeated `spin_id`
    returns the first spin's result, so a double tap spins once.

    Raises WheelRefused ("not_offered", "paid_limit", "offline_limit" without an offline budget
    problem, "no_prizes"), InsufficientPoints, OfflineLimitReached, UnknownMember.
    """
    conn = ctx.conn
    earlier = result_of(conn, ctx.tz, spin_id, rules, now)
    if earlier is not None:
        return earlier
    wheel = rules.wheel if rules is not None else None
    if rules is None or wheel is None or not wheel.enabled:
        raise WheelRefused(member_id, "not_offered")
    if not 0 <= draw < DRAW_BOUND:
        raise ValueError(f"draw must be in [0, 2**63), got {draw}")
    at = ts(now)
    day = now.astimezone(ctx.tz).date()
    held, lots = points.held_and_lots(conn, member_id, at)
    spendable = held - reserved_points(conn, member_id)
    free, cost, reason = _next_spin(wheel, _day_counts(conn, member_id, day), online, spendable)
    if reason == "points":
        raise InsufficientPoints(member_id, cost, spendable)
    if reason is not None:
        raise WheelRefused(member_id, reason)
    if not online:
        _check_offline(conn, ctx, wheel, member_id, cost, now)
    prizes = _in_stock(wheel, _given_here(conn, rules.version))
    if not prizes:
        raise WheelRefused(member_id, "no_prizes")
    weights = [(p.prize_id, p.weight) for p in prizes]
    prize = prizes[pick(draw, weights)]
    event_id = event_id_for(ctx.device_id, spin_id)
    allocation = points.fifo_allocation(lots, cost) if cost else []
    minted = (
        mint_voucher(ctx, prize.reward_id, prize.value_fen, prize.validity_days, now)
        if prize.kind == "voucher"
        else None
    )
    expires = ts(now + dt.timedelta(days=_LOCAL_LOT_DAYS))
    payload = {
        "device_id": ctx.device_id,
        "spin_id": spin_id,
        "member_id": member_id,
        "day": day.isoformat(),
        "free": free,
        "cost_points": cost,
        "lots": [[lot, pts] for lot, pts in allocation],
        "draw": draw,
        "weights": [[pid, w] for pid, w in weights],
        "prize_id": prize.prize_id,
        "prize_kind": prize.kind,
        "points": prize.points,
        "rules_version": rules.version,
        "offline": not online,
    }
    if minted is not None:
        payload["voucher"] = {
            "voucher_id": minted.voucher_id,
            "voucher_code": minted.code,
            "reward_id": prize.reward_id,
            "value_fen": prize.value_fen,
            "issued_at": minted.issued_at.isoformat(),
            "expires_at": minted.expires_at.isoformat(),
        }
    event = outbox.append(
        conn, event_id=event_id, type="wheel_spin", created_at=now, offline=not online, payload=payload
    )
    if cost:
        # Spent like a redemption: a local event with its spends, released when HQ acknowledges.
        conn.execute(
            "INSERT INTO local_events(event_id, member_id, kind, points, created_at, rules_version, intent_id,"
            " voucher_id, offline, seq) VALUES (?, ?, 'wheel', ?, ?, ?, ?, ?, ?, ?)",
            (event_id, member_id, cost, at, rules.version, spin_id, None, 1 - int(online), event.seq),
        )
        points.record_spends(conn, member_id, event_id, allocation)
    if prize.points:
        conn.execute(
            "INSERT INTO lots(member_id, lot_id, points, earned_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (member_id, LOT_PREFIX + event_id, prize.points, at, expires),
        )
    if minted is not None:
        store_voucher(
            ctx,
            minted,
            member_id=member_id,
            reward_id=prize.reward_id,
            name_json=json.dumps(dict(prize.name), ensure_ascii=False),
            value_fen=prize.value_fen,
            cost=0,
            online=online,
            intent_id=spin_id,
            event_id=event_id,
            rules_version=rules.version,
            card=(None, None),
            prepared=(at, rules.version),
        )
    conn.execute(
        "INSERT INTO wheel_spins(event_id, spin_id, member_id, day, free, cost, draw, weights, prize_id, prize_kind,"
        " points, voucher_id, created_at, expires_at, offline, rules_version) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event_id,
            spin_id,
            member_id,
            day.isoformat(),
            int(free),
            cost,
            draw,
            json.dumps(weights),
            prize.prize_id,
            prize.kind,
            prize.points,
            minted.voucher_id if minted else None,
            at,
            expires,
            int(not online),
            rules.version,
        ),
    )
    result = result_of(conn, ctx.tz, spin_id, rules, now)
    assert result is not None
    return result


def result_of(
    conn: sqlite3.Connection, tz: dt.tzinfo, spin_id: str, rules: Rules | None, now: dt.datetime
) -> SpinResult | None:
    """The spin recorded under `spin_id`, as the wheel screen shows it; None if there is none."""
    row = conn.execute(
        "SELECT s.prize_id, s.prize_kind, s.points, s.cost, s.free, s.offline, s.weights, s.voucher_id,"
        " v.reward_name FROM wheel_spins s LEFT JOIN vouchers v ON v.voucher_id = s.voucher_id"
        " WHERE s.spin_id = ?",
        (spin_id,),
    ).fetchone()
    if row is None:
        return None
    prize_id, kind, won, cost, free, offline, _, voucher_id, voucher_name = row
    wheel = rules.wheel if rules is not None else None
    prize = wheel.prize(prize_id) if wheel is not None else None
    ids = [p.prize_id for p in wheel.prizes] if wheel is not None else []
    name = dict(prize.name) if prize is not None else json.loads(voucher_name) if voucher_name else {"en": prize_id}
    voucher = None
    if voucher_id is not None:
        found = voucher_by_id(conn, voucher_id)
        if found is not None:
            voucher = voucher_view(found, now, tz)
    return SpinResult(
        spin_id=spin_id,
        segment=ids.index(prize_id) if prize_id in ids else -1,
        prize_id=prize_id,
        kind=kind,
        name=name,
        points=int(won),
        cost_points=int(cost),
        free=bool(free),
        offline=bool(offline),
        voucher=voucher,
    )


def acknowledge(conn: sqlite3.Connection, event_id: str, version: int) -> str | None:
    """HQ has the spin `event_id`: its local lot goes (HQ's state has it now). Returns the member."""
    return points.acknowledge_local_lot(conn, "wheel_spins", LOT_PREFIX, event_id, version)


def restore_local_lots(conn: sqlite3.Connection, member_ids: Iterable[str] | None) -> None:
    """Put back the local lots of unacknowledged spins a snapshot's lots replaced (None: every member)."""
    points.restore_local_lots(conn, "wheel_spins", LOT_PREFIX, member_ids)
