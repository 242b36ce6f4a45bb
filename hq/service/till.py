"""What tills report: purchases (earning points, spend and tier progress), refunds, top-ups.

Every call carries an idempotency key (the till's request number): a retry of the same request
returns the first answer and changes nothing; the same key with another body is refused
(`IdempotencyConflict`), like WeChat's `consume_request_no` — retry the same request, never a new
number. Each call is one transaction that locks the member's row, so two HQ processes never
interleave on one member, and ends with a `member_changes` row so the kiosks hear of it.

A purchase on member day (会员日: the rules' `member_day`, the purchase's day in the till's own
offset) earns at the tier multiplier times the member-day multiplier, floored once; its `earn`
entry records the member-day multiplier (`detail.member_day`) beside the tier's. A refund reverses
its share of what the purchase earned (`purchases.points`), member-day points included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from hq.domain.points import (
    earn_growth,
    earn_points,
    lot_expiry,
    member_day_multiplier,
    refund_points,
    settle_overdraft,
)
from hq.domain.program import Program
from hq.domain.tiers import TierState, tier_after_purchase
from hq.domain.topup import stored_value_spend_allowed, topup_bonus
from hq.service.errors import DuplicateOrder, IdempotencyConflict, NotFound, Refused
from hq.service.feedback import record_change
from hq.service.members import locked_member, measure_of, record_tier_decision
from hq.service.programs import current_program
from hq.store import tables as t
from sync.canonical import canonical_bytes

PAYMENT_METHODS = ("cash", "card", "mobile", "stored_value")


def _digest(request: Any) -> str:
    body = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in asdict(request).items()}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


@dataclass(frozen=True)
class Purchase:
    idempotency_key: str
    store_id: str
    till_id: str
    order_no: str
    member_id: str
    amount_fen: int
    at: dt.datetime
    paid_with: str = "cash"


@dataclass(frozen=True)
class PurchaseResult:
    purchase_id: str
    member_id: str
    points: int
    rules_version: int
    tier: str
    balance_fen: int
    replayed: bool = False


def _store_day(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar day of `at` in the till's own offset (the store's day)."""
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def record_purchase(conn: Connection, purchase: Purchase, now: dt.datetime) -> PurchaseResult:
    if purchase.amount_fen <= 0:
        raise Refused("bad_amount", "amount_fen must be a positive integer (fen)")
    if purchase.paid_with not in PAYMENT_METHODS:
        raise Refused("bad_payment", f"paid_with must be one of {PAYMENT_METHODS}")
    digest = _digest(purchase)
    replay = _purchase_replay(conn, purchase, digest)
    if replay is not None:
        return replay
    program = current_program(conn)
    member = locked_member(conn, purchase.member_id)
    # Again under the member's lock: a twin of this request in another HQ process may have
    # committed while we waited for the lock; then this is its replay, not a duplicate order.
    replay = _purchase_replay(conn, purchase, digest)
    if replay is not None:
        return replay
    return _record_new_purchase(conn, purchase, digest, program, member, now)


def _purchase_replay(conn: Connection, purchase: Purchase, digest: str) -> PurchaseResult | None:
    earlier = conn.execute(
        sa.select(t.purchases).where(t.purchases.c.idempotency_key == purchase.idempotency_key)
    ).first()
    if earlier is None:
        return None
    if earlier.request_digest != digest:
        raise IdempotencyConflict(f"idempotency key {purchase.idempotency_key} was used for another request")
    member = conn.execute(sa.select(t.members).where(t.members.c.member_id == earlier.member_id)).one()
    return PurchaseResult(
        earlier.purchase_id, earlier.member_id, int(earlier.points), int(earlier.rules_version),
        member.tier_override or member.tier, int(member.balance_fen), replayed=True,
    )  # fmt: skip


def _record_new_purchase(
    conn: Connection, purchase: Purchase, digest: str, program: Program, member: Row[Any], now: dt.datetime
) -> PurchaseResult:
    if conn.execute(
        sa.select(t.purchases.c.purchase_id).where(
            t.purchases.c.store_id == purchase.store_id, t.purchases.c.order_no == purchase.order_no
        )
    ).first():
        raise DuplicateOrder(f"order {purchase.order_no} at store {purchase.store_id} was reported already")
    purchase_id = f"P-{purchase.store_id}-{purchase.order_no}"
    balance = int(member.balance_fen)
    if purchase.paid_with == "stored_value":
        day = _store_day(purchase.at)
        topped, spent = _stored_value_today(conn, purchase.member_id, day)
        allowance = stored_value_spend_allowed(balance, purchase.amount_fen, topped, spent, program)
        if not allowance.allowed:
            raise Refused(
                allowance.reason or "refused", f"stored value allows at most {allowance.spendable_fen} fen now"
            )
        balance -= purchase.amount_fen
    state = TierState(tier=member.tier, override=member.tier_override)
    tier = program.tier(state.effective) or program.rules.tiers[0]
    # 会员日: the day is the purchase's in the till's offset (hq.domain.points.member_day_multiplier).
    member_day = member_day_multiplier(program, purchase.at)
    earned = earn_points(purchase.amount_fen, Decimal(tier.points_multiplier), program, member_day=member_day)
    growth = earn_growth(purchase.amount_fen, program)
    settlement = settle_overdraft(int(member.overdraft_points), earned)
    lot_id = f"L-{purchase_id}"
    if settlement.to_lot:
        conn.execute(
            t.lots.insert().values(
                lot_id=lot_id, member_id=member.member_id, points_earned=settlement.to_lot,
                points_left=settlement.to_lot, earned_at=purchase.at, expires_at=lot_expiry(purchase.at, program),
                source=purchase_id,
            )
        )  # fmt: skip
    conn.execute(
        t.members.update()
        .where(t.members.c.member_id == member.member_id)
        .values(
            spend_fen=t.members.c.spend_fen + purchase.amount_fen,
            growth_points=t.members.c.growth_points + growth,
            period_spend_fen=t.members.c.period_spend_fen + purchase.amount_fen,
            period_growth=t.members.c.period_growth + growth,
            balance_fen=balance,
            overdraft_points=settlement.overdraft_left,
            updated_at=now,
        )
    )
    conn.execute(
        t.purchases.insert().values(
            purchase_id=purchase_id, idempotency_key=purchase.idempotency_key, request_digest=digest,
            store_id=purchase.store_id, till_id=purchase.till_id, order_no=purchase.order_no,
            member_id=member.member_id, amount_fen=purchase.amount_fen, paid_with=purchase.paid_with,
            at=purchase.at, points=earned, rules_version=program.version, recorded_at=now,
        )
    )  # fmt: skip
    conn.execute(
        t.entries.insert().values(
            member_id=member.member_id, kind="earn", points_delta=settlement.to_lot,
            overdraft_delta=-settlement.repaid, spend_delta_fen=purchase.amount_fen, growth_delta=growth,
            balance_delta_fen=balance - int(member.balance_fen), lot_id=lot_id if settlement.to_lot else None,
            ref=purchase_id, rules_version=program.version, at=purchase.at,
            detail={"multiplier": str(tier.points_multiplier), "tier": tier.code, "paid_with": purchase.paid_with}
            | ({"member_day": str(member_day)} if member_day is not None else {}),
        )
    )  # fmt: skip
    fresh = locked_member(conn, member.member_id)
    decision = tier_after_purchase(program, state, measure_of(program, fresh))
    if decision is not None:
        record_tier_decision(conn, member.member_id, decision, ref=purchase_id, at=purchase.at)
    record_change(conn, member.member_id, now)
    return PurchaseResult(
        purchase_id, member.member_id, earned, program.version,
        decision.state.effective if decision else state.effective, balance,
    )  # fmt: skip


def _stored_value_today(conn: Connection, member_id: str, day: tuple[dt.datetime, dt.datetime]) -> tuple[int, int]:
    e = t.entries.c
    rows = conn.execute(
        sa.select(e.kind, sa.func.coalesce(sa.func.sum(e.balance_delta_fen), 0))
        .where(e.member_id == member_id, e.at >= day[0], e.at < day[1], e.kind.in_(("topup", "earn")))
        .group_by(e.kind)
    ).all()
    sums = {kind: int(total) for kind, total in rows}
    return sums.get("topup", 0), -min(0, sums.get("earn", 0))


@dataclass(frozen=True)
class Refund:
    idempotency_key: str
    purchase_id: str
    amount_fen: int
    at: dt.datetime


def refund(conn: Connection, request: Refund, now: dt.datetime) -> dict[str, Any]:
    """Reverse part or all of a purchase: its points (proportionally), spend and stored value."""
    replay = _replay(conn, request.idempotency_key, "refund", _digest(request))
    if replay is not None:
        return replay
    purchase = conn.execute(
        sa.select(t.purchases).where(t.purchases.c.purchase_id == request.purchase_id).with_for_update()
    ).first()
    if purchase is None:
        raise NotFound(f"purchase {request.purchase_id} does not exist")
    replay = _replay(conn, request.idempotency_key, "refund", _digest(request))  # a twin committed meanwhile?
    if replay is not None:
        return replay
    left = int(purchase.amount_fen) - int(purchase.refunded_fen)
    if not 0 < request.amount_fen <= left:
        raise Refused("bad_amount", f"refund must be between 1 and the {left} fen not yet refunded")
    member = locked_member(conn, purchase.member_id)
    program = current_program(conn)
    points = refund_points(
        int(purchase.points), int(purchase.amount_fen), request.amount_fen, int(purchase.refunded_fen)
    )
    taken_from_lot = _take_from_lot(conn, f"L-{purchase.purchase_id}", points)
    overdraft = points - taken_from_lot  # already spent: the member owes them back
    growth = earn_growth(int(purchase.amount_fen), program) * request.amount_fen // int(purchase.amount_fen)
    balance_back = request.amount_fen if purchase.paid_with == "stored_value" else 0
    conn.execute(
        t.purchases.update()
        .where(t.purchases.c.purchase_id == purchase.purchase_id)
        .values(
            refunded_fen=t.purchases.c.refunded_fen + request.amount_fen,
            points_reversed=t.purchases.c.points_reversed + points,
        )
    )
    conn.execute(
        t.members.update()
        .where(t.members.c.member_id == member.member_id)
        .values(
            spend_fen=t.members.c.spend_fen - request.amount_fen,
            period_spend_fen=sa.func.max(t.members.c.period_spend_fen - request.amount_fen, 0)
            if conn.dialect.name == "sqlite"
            else sa.func.greatest(t.members.c.period_spend_fen - request.amount_fen, 0),
            growth_points=t.members.c.growth_points - growth,
            balance_fen=t.members.c.balance_fen + balance_back,
            overdraft_points=t.members.c.overdraft_points + overdraft,
            updated_at=now,
        )
    )
    conn.execute(
        t.entries.insert().values(
            member_id=member.member_id, kind="refund", points_delta=-taken_from_lot, overdraft_delta=overdraft,
            spend_delta_fen=-request.amount_fen, growth_delta=-growth, balance_delta_fen=balance_back,
            lot_id=f"L-{purchase.purchase_id}", ref=purchase.purchase_id, rules_version=program.version,
            at=request.at, detail={"refund_fen": request.amount_fen, "points_reversed": points},
        )
    )  # fmt: skip
    record_change(conn, member.member_id, now)
    response = {"purchase_id": purchase.purchase_id, "points_reversed": points, "refunded_fen": request.amount_fen}
    _remember(conn, request.idempotency_key, "refund", _digest(request), response, now)
    return response


def _take_from_lot(conn: Connection, lot_id: str, points: int) -> int:
    lot = conn.execute(sa.select(t.lots).where(t.lots.c.lot_id == lot_id).with_for_update()).first()
    if lot is None or points == 0:
        return 0
    taken = min(points, int(lot.points_left))
    conn.execute(t.lots.update().where(t.lots.c.lot_id == lot_id).values(points_left=t.lots.c.points_left - taken))
    return taken


@dataclass(frozen=True)
class Topup:
    idempotency_key: str
    store_id: str
    till_id: str
    member_id: str
    paid_fen: int
    at: dt.datetime


def topup(conn: Connection, request: Topup, now: dt.datetime) -> dict[str, Any]:
    """Credit stored value: what was paid plus the programme's bonus (e.g. pay 500 get 700)."""
    replay = _replay(conn, request.idempotency_key, "topup", _digest(request))
    if replay is not None:
        return replay
    if request.paid_fen <= 0:
        raise Refused("bad_amount", "paid_fen must be a positive integer (fen)")
    program = current_program(conn)
    member = locked_member(conn, request.member_id)
    replay = _replay(conn, request.idempotency_key, "topup", _digest(request))  # a twin committed meanwhile?
    if replay is not None:
        return replay
    bonus = topup_bonus(program, request.paid_fen)
    credit = request.paid_fen + bonus
    conn.execute(
        t.members.update()
        .where(t.members.c.member_id == member.member_id)
        .values(balance_fen=t.members.c.balance_fen + credit, updated_at=now)
    )
    conn.execute(
        t.entries.insert().values(
            member_id=member.member_id, kind="topup", balance_delta_fen=credit,
            ref=f"T-{request.idempotency_key}", rules_version=program.version, at=request.at,
            detail={"paid_fen": request.paid_fen, "bonus_fen": bonus, "store_id": request.store_id,
                    "till_id": request.till_id},
        )
    )  # fmt: skip
    record_change(conn, member.member_id, now)
    response = {"member_id": member.member_id, "paid_fen": request.paid_fen, "bonus_fen": bonus,
                "balance_fen": int(member.balance_fen) + credit, "rules_version": program.version}  # fmt: skip
    _remember(conn, request.idempotency_key, "topup", _digest(request), response, now)
    return response


def _replay(conn: Connection, key: str, kind: str, digest: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.till_requests).where(t.till_requests.c.idempotency_key == key)).first()
    if row is None:
        return None
    if row.kind != kind or row.request_digest != digest:
        raise IdempotencyConflict(f"idempotency key {key} was used for another request")
    return {**row.response, "replayed": True}


def _remember(conn: Connection, key: str, kind: str, digest: str, response: dict[str, Any], now: dt.datetime) -> None:
    conn.execute(
        t.till_requests.insert().values(
            idempotency_key=key, kind=kind, request_digest=digest, response=response, at=now
        )
    )
