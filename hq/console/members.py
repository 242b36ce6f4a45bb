"""The console's members and cards: finding a member, what HQ knows of them, and the one change
no API route made yet, a manual points adjustment with a reason (audited).

Lookup is by member number, card UID (hex, any case, spaces or colons allowed) or name. HQ stores
no phone numbers (`members` has none), so a phone cannot be looked up; the page says so.
The other changes (block a lost card, release a block, a replacement card) call hq.service's own
functions, as the API routes do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError, NotFound, Refused
from hq.service.feedback import record_change
from hq.service.kiosk_entry import member_entries
from hq.service.members import locked_member
from hq.service.point_lots import credit_lot, debit_oldest_first
from hq.service.programs import current_program
from hq.store import tables as t

_UID = re.compile(r"^[0-9a-f]{8}([0-9a-f]{6})?([0-9a-f]{6})?$")
ADJUST_MAX = 1_000_000


@dataclass(frozen=True)
class Found:
    member_id: str
    name: str
    tier: str
    home_store: str | None
    via: str  # member | card | name


def card_uid(text: str) -> str | None:
    """`text` as a card UID (4, 7 or 10 bytes of hex), or None."""
    cleaned = re.sub(r"[\s:-]", "", text).lower()
    return cleaned if _UID.match(cleaned) else None


def find(conn: Connection, query: str, limit: int = 20) -> list[Found]:
    """Members whose number is `query`, who own the card `query`, or whose name contains it."""
    query = query.strip()
    if not query:
        return []
    m, c = t.members.c, t.cards.c
    found: dict[str, Found] = {}

    def add(rows: Any, via: str) -> None:
        for r in rows:
            found.setdefault(r.member_id, Found(r.member_id, r.name, r.tier_override or r.tier, r.home_store, via))

    add(conn.execute(sa.select(t.members).where(m.member_id == query)), "member")
    uid = card_uid(query)
    if uid is not None:
        add(conn.execute(sa.select(t.members).join(t.cards, c.member_id == m.member_id).where(c.uid == uid)), "card")
    like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    add(
        conn.execute(sa.select(t.members).where(m.name.like(like, escape="\\")).order_by(m.member_id).limit(limit)),
        "name",
    )
    return list(found.values())[:limit]


def detail(conn: Connection, member_id: str, history_limit: int = 50) -> dict[str, Any]:
    """The member as kiosks get them (hq.service.kiosk_entry), plus HQ-only figures, cards with
    their deny-list state, the last entries and vouchers."""
    row = conn.execute(sa.select(t.members).where(t.members.c.member_id == member_id)).first()
    if row is None:
        raise NotFound(f"no member {member_id}")
    (entry,) = member_entries(conn, [member_id])
    d = t.denylist.c
    blocks = {
        r.uid: dict(r._mapping)
        for r in conn.execute(sa.select(t.denylist).where(d.uid.in_([card["uid"] for card in entry["cards"]] or [""])))
    }
    e = t.entries.c
    history = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(t.entries)
            .where(e.member_id == member_id)
            .order_by(e.at.desc(), e.entry_id.desc())
            .limit(history_limit)
        )
    ]
    v = t.vouchers.c
    vouchers = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(t.vouchers).where(v.member_id == member_id).order_by(v.issued_at.desc()).limit(50)
        )
    ]
    return {
        "member": dict(row._mapping),
        "points": sum(int(lot["points"]) for lot in entry["lots"]),
        "lots": entry["lots"],
        "cards": [card | {"block": blocks.get(card["uid"])} for card in entry["cards"]],
        "history": history,
        "vouchers": vouchers,
    }


def next_issue_no(conn: Connection, member_id: str) -> int:
    highest = conn.execute(sa.select(sa.func.max(t.cards.c.issue_no)).where(t.cards.c.member_id == member_id)).scalar()
    return int(highest or 0) + 1


def adjust_points(conn: Connection, member_id: str, points: int, *, reason: str, by: str, now: dt.datetime) -> int:
    """Add (points > 0: a new lot, valid as the programme's earned points) or take away (points < 0:
    oldest lots first, never below zero) points by hand. The entry (kind `adjust`) records who and
    why; kiosks hear the new balance in the next member update. Returns the points held after."""
    reason = reason.strip()
    if not reason:
        raise HqServiceError("an adjustment needs a reason")
    if points == 0 or abs(points) > ADJUST_MAX:
        raise HqServiceError(f"adjust by 1 to {ADJUST_MAX:,} points, up or down")
    locked_member(conn, member_id)
    program = current_program(conn)
    lots = t.lots.c
    held = int(
        conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(lots.points_left), 0)).where(
                lots.member_id == member_id, lots.points_left > 0, lots.expires_at > now
            )
        ).scalar_one()
    )
    count = conn.execute(sa.select(sa.func.count()).where(t.entries.c.member_id == member_id)).scalar_one()
    ref = f"adjust:{member_id}:{count + 1}:{int(now.timestamp())}"
    detail: dict[str, Any] = {"by": by, "reason": reason[:500]}
    if points > 0:
        settlement = credit_lot(
            conn, member_id, ref, points, at=now, program=program, source=f"adjust by {by}"[:200], now=now
        )
        deltas = {"points_delta": settlement.to_lot, "overdraft_delta": -settlement.repaid}
        lot_id: str | None = ref if settlement.to_lot else None
    else:
        if -points > held:
            raise Refused("insufficient_points", f"member {member_id} holds {held} points; cannot take {-points}")
        plan = debit_oldest_first(conn, member_id, -points, now, now)
        deltas = {"points_delta": -plan.covered, "overdraft_delta": plan.shortfall}
        detail["lots"] = [[a.lot_id, a.points] for a in plan.allocations]
        lot_id = None
    conn.execute(
        t.entries.insert().values(
            member_id=member_id, kind="adjust", lot_id=lot_id, ref=f"{by}: {reason}"[:200],
            rules_version=program.version, at=now, detail=detail, **deltas,
        )
    )  # fmt: skip
    record_change(conn, member_id, now)
    return held + points
