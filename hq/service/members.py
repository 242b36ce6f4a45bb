"""Members and their cards at HQ: enrolment, cards, manual tier overrides (audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from hq.domain.program import Program
from hq.domain.tiers import TierDecision, TierState, clear_override, set_override, starting_tier
from hq.service.errors import HqServiceError, NotFound, Refused
from hq.service.feedback import record_change
from hq.service.programs import current_program
from hq.store import tables as t
from hq.store.upsert import insert_ignore


@dataclass(frozen=True)
class NewMember:
    member_id: str
    name: str
    birthday: str | None = None
    home_store: str | None = None


def locked_member(conn: Connection, member_id: str) -> Row[Any]:
    """The member's row, locked for this transaction (two HQ processes never interleave on one member)."""
    row = conn.execute(sa.select(t.members).where(t.members.c.member_id == member_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"member {member_id} does not exist")
    return row


def enrol(conn: Connection, member: NewMember, now: dt.datetime) -> bool:
    """Create a member at the bottom tier; False (and no change) if the id exists already."""
    program = current_program(conn)
    created = insert_ignore(
        conn,
        t.members,
        {
            "member_id": member.member_id,
            "name": member.name,
            "birthday": member.birthday,
            "home_store": member.home_store,
            "tier": starting_tier(program).tier,
            "spend_fen": 0,
            "growth_points": 0,
            "period_spend_fen": 0,
            "period_growth": 0,
            "balance_fen": 0,
            "overdraft_points": 0,
            "created_at": now,
            "updated_at": now,
        },
    )
    if created:
        record_change(conn, member.member_id, now)
    return created


def add_card(conn: Connection, member_id: str, uid_hex: str, issue_no: int, now: dt.datetime) -> None:
    locked_member(conn, member_id)
    uid = uid_hex.lower()
    existing = conn.execute(sa.select(t.cards).where(t.cards.c.uid == uid)).first()
    if existing is not None and existing.member_id != member_id:
        raise Refused("card_taken", f"card {uid} belongs to another member")
    if existing is None:
        conn.execute(
            t.cards.insert().values(uid=uid, member_id=member_id, issue_no=issue_no, status="active", last_counter=0)
        )
    record_change(conn, member_id, now)


def record_tier_decision(
    conn: Connection, member_id: str, decision: TierDecision, *, ref: str, at: dt.datetime, by: str | None = None
) -> None:
    """Apply a tier decision to the member row, with an entry naming the rules version and who."""
    conn.execute(
        t.members.update()
        .where(t.members.c.member_id == member_id)
        .values(tier=decision.state.tier, tier_override=decision.state.override, updated_at=at)
    )
    conn.execute(
        t.entries.insert().values(
            member_id=member_id,
            kind="tier_change",
            ref=ref,
            rules_version=decision.rules_version,
            at=at,
            detail={
                "from": decision.old_tier,
                "to": decision.new_tier,
                "reason": decision.reason.value,
                "measure": decision.measure,
                **({"by": by} if by else {}),
            },
        )
    )
    record_change(conn, member_id, at)


def override_tier(conn: Connection, member_id: str, tier: str | None, *, by: str, reason: str, now: dt.datetime) -> str:
    """Set (or with None clear) a manual tier; the entry keeps who did it and why. Returns the tier in force."""
    if not by or not reason:
        raise HqServiceError("a manual tier change names who made it and why")
    program = current_program(conn)
    row = locked_member(conn, member_id)
    state = TierState(tier=row.tier, override=row.tier_override)
    if tier is None:
        decision = clear_override(program, state, measure_of(program, row))
    else:
        if program.tier(tier) is None:
            raise Refused("unknown_tier", f"tier {tier!r} is not in programme version {program.version}")
        decision = set_override(program, state, tier)
    if decision is not None:
        record_tier_decision(conn, member_id, decision, ref=f"override:{reason}"[:120], at=now, by=by)
        return decision.state.effective
    return state.effective


def measure_of(program: Program, row: Row[Any]) -> int:
    """The member's tier measure over the current period (spend or growth, per the programme)."""
    return int(row.period_spend_fen if program.rules.measure == "spend_fen" else row.period_growth)
