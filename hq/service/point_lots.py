"""Moving a member's points through their lots at HQ: what a kiosk's spend debits and what a kiosk
event credits, shared by redemptions and wheel spins (hq.service.reconcile, hq.service.wheel_spins).

The caller holds the member's row lock (`SELECT ... FOR UPDATE`) and writes its own entry: these
functions change lots and the overdraft only.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.domain.points import Lot, OverdraftSettlement, SpendPlan, lot_expiry, settle_overdraft, spend_oldest_first
from hq.domain.program import Program
from hq.store import tables as t


def debit_oldest_first(conn: Connection, member_id: str, points: int, at: dt.datetime, now: dt.datetime) -> SpendPlan:
    """Take `points` from the member's lots live at `at`, oldest first; what they cannot cover
    becomes overdraft (the kiosk spent it already: never refused, never lost)."""
    rows = conn.execute(sa.select(t.lots).where(t.lots.c.member_id == member_id, t.lots.c.points_left > 0)).all()
    lots = [Lot(r.lot_id, int(r.points_left), r.earned_at, r.expires_at) for r in rows]
    plan = spend_oldest_first(lots, points, at)
    for allocation in plan.allocations:
        conn.execute(
            t.lots.update()
            .where(t.lots.c.lot_id == allocation.lot_id)
            .values(points_left=t.lots.c.points_left - allocation.points)
        )
    if plan.shortfall:
        conn.execute(
            t.members.update()
            .where(t.members.c.member_id == member_id)
            .values(overdraft_points=t.members.c.overdraft_points + plan.shortfall, updated_at=now)
        )
    return plan


def credit_lot(
    conn: Connection,
    member_id: str,
    lot_id: str,
    points: int,
    *,
    at: dt.datetime,
    program: Program,
    source: str,
    now: dt.datetime,
) -> OverdraftSettlement:
    """Credit `points` earned at `at`: an overdraft is repaid first, the rest is a new lot valid
    for the programme's `earning.lot_validity_days`."""
    overdraft = conn.execute(
        sa.select(t.members.c.overdraft_points).where(t.members.c.member_id == member_id)
    ).scalar_one()
    settlement = settle_overdraft(int(overdraft), points)
    if settlement.to_lot:
        conn.execute(
            t.lots.insert().values(
                lot_id=lot_id, member_id=member_id, points_earned=settlement.to_lot, points_left=settlement.to_lot,
                earned_at=at, expires_at=lot_expiry(at, program), source=source,
            )
        )  # fmt: skip
    if settlement.repaid:
        conn.execute(
            t.members.update()
            .where(t.members.c.member_id == member_id)
            .values(overdraft_points=settlement.overdraft_left, updated_at=now)
        )
    return settlement
