"""HQ's scheduled work: points expire by the clock; downgrade programmes re-evaluate tiers.

Both are idempotent (run them again and nothing more happens) and go member by member, one short
transaction each, so a big fleet never holds a long lock and a crash half-way loses nothing.
`expire_due_lots` runs inside the HQ process every few minutes; `reevaluate_tiers` is run by the
operator's schedule (`kiosk-hq reevaluate`, e.g. yearly from cron), since when a programme
re-evaluates is a business decision.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hq.domain.points import Lot, expire
from hq.domain.tiers import TierState, measure_window_start, reevaluate
from hq.service.feedback import record_change
from hq.service.members import locked_member, record_tier_decision
from hq.service.programs import current_program
from hq.store import tables as t


def expire_due_lots(engine: Engine, now: dt.datetime) -> int:
    """Lapse every lot whose expiry has come; returns the points expired."""
    with engine.connect() as conn:
        members = (
            conn.execute(
                sa.select(t.lots.c.member_id).where(t.lots.c.expires_at <= now, t.lots.c.points_left > 0).distinct()
            )
            .scalars()
            .all()
        )
    total = 0
    for member_id in members:
        with engine.begin() as conn:
            locked_member(conn, member_id)
            rows = conn.execute(
                sa.select(t.lots).where(t.lots.c.member_id == member_id, t.lots.c.points_left > 0).with_for_update()
            ).all()
            plan = expire([Lot(r.lot_id, int(r.points_left), r.earned_at, r.expires_at) for r in rows], now)
            if not plan.lapsed:
                continue
            version = current_program(conn).version
            for lapse in plan.lapsed:
                conn.execute(t.lots.update().where(t.lots.c.lot_id == lapse.lot_id).values(points_left=0))
                conn.execute(
                    t.entries.insert().values(
                        member_id=member_id, kind="expire", points_delta=-lapse.points, lot_id=lapse.lot_id,
                        ref=lapse.lot_id, rules_version=version, at=now,
                    )
                )  # fmt: skip
            record_change(conn, member_id, now)
            total += plan.points
    return total


def reevaluate_tiers(engine: Engine, now: dt.datetime) -> int:
    """Re-evaluate every member over the programme's trailing window; returns how many moved."""
    with engine.connect() as conn:
        program = current_program(conn)
        member_ids = conn.execute(sa.select(t.members.c.member_id).order_by(t.members.c.member_id)).scalars().all()
    start = measure_window_start(program, now)
    if start is None:
        return 0  # this programme never re-evaluates
    moved = 0
    for member_id in member_ids:
        with engine.begin() as conn:
            row = locked_member(conn, member_id)
            p = t.purchases.c
            spend = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(p.amount_fen - p.refunded_fen), 0)).where(
                    p.member_id == member_id, p.at >= start
                )
            ).scalar_one()
            growth = _window_growth(conn, member_id, start)
            conn.execute(
                t.members.update()
                .where(t.members.c.member_id == member_id)
                .values(period_from=start, period_spend_fen=int(spend), period_growth=growth, updated_at=now)
            )
            measure = int(spend) if program.rules.measure == "spend_fen" else growth
            decision = reevaluate(program, TierState(row.tier, row.tier_override), measure)
            if decision is not None:
                record_tier_decision(conn, member_id, decision, ref="reevaluation", at=now)
                moved += 1
            else:
                record_change(conn, member_id, now)
    return moved


def _window_growth(conn: sa.engine.Connection, member_id: str, start: dt.datetime) -> int:
    e = t.entries.c
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(e.growth_delta), 0)).where(e.member_id == member_id, e.at >= start)
    ).scalar_one()
    return max(0, int(total))
