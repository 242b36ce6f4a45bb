"""Read-only views the API serves that no use case returns: a member with overdraft and tier in
force, a member's entries page by page, the current programme's row, the alarms.

(Candidates for hq.service once a second caller, e.g. the operator console, needs them.)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import NotFound
from hq.service.kiosk_entry import member_entries
from hq.store import tables as t


def member_view(conn: Connection, member_id: str) -> dict[str, Any]:
    overdraft = conn.execute(
        sa.select(t.members.c.overdraft_points).where(t.members.c.member_id == member_id)
    ).scalar_one_or_none()
    if overdraft is None:
        raise NotFound(f"member {member_id} does not exist")
    (entry,) = member_entries(conn, [member_id])
    return {**entry, "tier": entry["tier_override"] or entry["tier_floor"], "overdraft_points": int(overdraft)}


def history(
    conn: Connection, member_id: str, *, limit: int, before: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` entries older than entry `before`, newest first, and the cursor of the next page."""
    if conn.execute(sa.select(t.members.c.member_id).where(t.members.c.member_id == member_id)).first() is None:
        raise NotFound(f"member {member_id} does not exist")
    e = t.entries.c
    query = sa.select(t.entries).where(e.member_id == member_id)
    if before is not None:
        query = query.where(e.entry_id < before)
    rows = conn.execute(query.order_by(e.entry_id.desc()).limit(limit + 1)).all()
    page = [dict(row._mapping) for row in rows[:limit]]
    return page, (page[-1]["entry_id"] if len(rows) > limit else None)


def current_program_row(conn: Connection) -> dict[str, Any]:
    row = conn.execute(sa.select(t.programs).order_by(t.programs.c.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound("no programme has been set up yet (POST /v1/programs)")
    return dict(row._mapping)


def alarms(conn: Connection, *, open_only: bool, limit: int) -> list[dict[str, Any]]:
    query = sa.select(t.alarms)
    if open_only:
        query = query.where(t.alarms.c.cleared_at.is_(None))
    return [dict(row._mapping) for row in conn.execute(query.order_by(t.alarms.c.alarm_id.desc()).limit(limit))]
