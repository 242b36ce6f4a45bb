"""Point lots: what is live, FIFO spending, what expires when, and the points a member moved
offline today (redeemed or checked in: what the offline limits measure).

HQ's snapshot gives each member dated lots (`lots.points` = what HQ says is left of the lot). Local
redemptions HQ has not yet included are allocated to those lots oldest-expiry-first at the moment
they happen and recorded in `spends`; a lot's remaining points are its snapshot points minus those
allocations. Expiry is decided by the clock at read time (a lot is live while now < expires_at),
never by a batch job, so a view taken one second after the deadline no longer counts the lot.

If a newer snapshot shrinks a lot below what local events had taken from it (another kiosk spent
from it offline), `reallocate_member` re-runs the FIFO allocation of the still-unacknowledged local
events against the new lots, as HQ will when it merges them; whatever cannot be covered is kept as
a deficit (a spend row without a lot) so it is never forgotten. Offline limits bound that deficit.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from kiosk.ledger.db import from_ts
from kiosk.model import PointExpiry

#: Lot ids of the kiosk's own check-in lots (kiosk.ledger.checkin), standing until HQ confirms them.
LOCAL_LOT_PREFIX = "checkin:"
#: Every kind of local lot: check-ins' and points won on the wheel (kiosk.ledger.wheel.LOT_PREFIX).
LOCAL_LOT_PREFIXES = (LOCAL_LOT_PREFIX, "wheel:")


class LotBalance(NamedTuple):
    """A live lot and what is left of it (a tuple: a redemption builds a dozen of these)."""

    lot_id: str
    remaining: int
    earned_at: str  # stored UTC text
    expires_at: str


def spent_by_lot(conn: sqlite3.Connection, member_id: str) -> dict[str | None, int]:
    """Points the member's local events took from each lot; key None = the deficit no lot covered."""
    spent: dict[str | None, int] = {}
    # Summed here: a member has a few spends, and GROUP BY would build a sorter on every call.
    for lot_id, points in conn.execute("SELECT lot_id, points FROM spends WHERE member_id = ?", (member_id,)):
        spent[lot_id] = spent.get(lot_id, 0) + points
    return spent


def live_lots(
    conn: sqlite3.Connection, member_id: str, at: str, spent: dict[str | None, int] | None = None
) -> list[LotBalance]:
    """Lots still live at stored time `at`, oldest expiry first, with their remaining points.

    `spent`: spent_by_lot(conn, member_id) if the caller has it already.
    """
    if spent is None:
        spent = spent_by_lot(conn, member_id)
    # Two plain index reads merged here: one joined query made SQLite build a temporary index
    # and two sort trees on every call (the slowest step of a redemption).
    rows = conn.execute(
        "SELECT lot_id, points, earned_at, expires_at FROM lots WHERE member_id = ? AND expires_at > ?"
        " ORDER BY expires_at, earned_at, lot_id",
        (member_id, at),
    ).fetchall()
    get = spent.get
    return [LotBalance(lot_id, points - get(lot_id, 0), earned, expires) for lot_id, points, earned, expires in rows]


def deficit(conn: sqlite3.Connection, member_id: str) -> int:
    """Points local events took that no lot covered (only after a shrinking snapshot)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM spends WHERE member_id = ? AND lot_id IS NULL", (member_id,)
    ).fetchone()
    return int(row[0])


def points_held(conn: sqlite3.Connection, member_id: str, at: str) -> int:
    """Live points: the sum of live lots' remaining points, minus any deficit."""
    return held_and_lots(conn, member_id, at)[0]


def held_and_lots(conn: sqlite3.Connection, member_id: str, at: str) -> tuple[int, list[LotBalance]]:
    """Live points and the live lots they come from (one read serves the check and the FIFO spend)."""
    spent = spent_by_lot(conn, member_id)
    lots = live_lots(conn, member_id, at, spent)
    return sum(max(0, lot.remaining) for lot in lots) - spent.get(None, 0), lots


def fifo_allocation(lots: list[LotBalance], points: int) -> list[tuple[str | None, int]]:
    """How `points` come out of `lots` (live, oldest expiry first): [(lot_id or None for deficit, points)]."""
    allocation: list[tuple[str | None, int]] = []
    left = points
    for lot in lots:
        if left <= 0:
            break
        take = min(left, lot.remaining)
        if take > 0:
            allocation.append((lot.lot_id, take))
            left -= take
    if left > 0:
        allocation.append((None, left))
    return allocation


def record_spends(
    conn: sqlite3.Connection, member_id: str, event_id: str, allocation: list[tuple[str | None, int]]
) -> None:
    """Store an allocation; `part` keeps its order (call after the local event row exists)."""
    conn.executemany(
        "INSERT INTO spends(event_id, member_id, lot_id, points, part) VALUES (?, ?, ?, ?, ?)",
        [(event_id, member_id, lot_id, pts, part) for part, (lot_id, pts) in enumerate(allocation)],
    )


def allocate_fifo(
    conn: sqlite3.Connection, member_id: str, event_id: str, points: int, at: str
) -> list[tuple[str | None, int]]:
    """Take `points` from the member's live lots, oldest expiry first; record the spends.

    Call inside a transaction. Returns the allocation [(lot_id or None for deficit, points)].
    """
    allocation = fifo_allocation(live_lots(conn, member_id, at), points)
    record_spends(conn, member_id, event_id, allocation)
    return allocation


def reallocate_member(conn: sqlite3.Connection, member_id: str) -> None:
    """Re-run FIFO for the member's unacknowledged local events against the current lots.

    The events are found through their spends: every unacknowledged event with points has at least
    one (a deficit row if no lot covered it), and acknowledging an event deletes them.
    """
    events = conn.execute(
        "SELECT event_id, points, created_at FROM local_events"
        " WHERE event_id IN (SELECT event_id FROM spends WHERE member_id = ?)"
        " AND acked_version IS NULL AND points > 0 ORDER BY created_at, seq",
        (member_id,),
    ).fetchall()
    conn.execute("DELETE FROM spends WHERE member_id = ?", (member_id,))
    for event_id, pts, created_at in events:
        allocate_fifo(conn, member_id, event_id, pts, created_at)


def expiries(conn: sqlite3.Connection, member_id: str, at: str, tz: dt.tzinfo) -> tuple[PointExpiry, ...]:
    """Every upcoming expiry (not only the earliest), lots with the same deadline merged."""
    merged: dict[str, int] = {}
    for lot in live_lots(conn, member_id, at):
        # A local check-in lot's expiry is a placeholder (the kiosk does not know HQ's lot
        # validity): HQ's lot replaces it with the real date once confirmed.
        if lot.remaining > 0 and not lot.lot_id.startswith(LOCAL_LOT_PREFIXES):
            merged[lot.expires_at] = merged.get(lot.expires_at, 0) + lot.remaining
    return tuple(PointExpiry(points=pts, expires_at=from_ts(when, tz)) for when, pts in sorted(merged.items()))


def expiry_text(expiry: PointExpiry, locale: str) -> str:
    """ "300 points expire on 2027-01-31" / "300积分将于2027-01-31过期"."""
    day = expiry.expires_at.date().isoformat()
    return f"{expiry.points}积分将于{day}过期" if locale == "zh_CN" else f"{expiry.points} points expire on {day}"


def offline_spent_today(
    conn: sqlite3.Connection, member_id: str, day_start: str, except_intent: str = ""
) -> tuple[int, int]:
    """(offline redemptions, their points) of the member since `day_start`, prepared ones included."""
    count, spent = conn.execute(
        """
        SELECT COUNT(*), COALESCE(SUM(cost_points), 0) FROM (
            SELECT cost_points FROM vouchers WHERE member_id = ? AND offline = 1 AND issued_at >= ?
                AND state != 'cancelled'
            UNION ALL
            SELECT cost_points FROM intents WHERE member_id = ? AND online = 0 AND state = 'prepared'
                AND intent_id != ?)
        """,
        (member_id, day_start, member_id, except_intent),
    ).fetchone()
    return int(count), int(spent)


def offline_checkin_points(conn: sqlite3.Connection, member_id: str, day_start: str) -> int:
    """Points of the member's offline check-ins here since `day_start` (kiosk.ledger.checkin)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM checkins WHERE member_id = ? AND offline = 1 AND created_at >= ?",
        (member_id, day_start),
    ).fetchone()
    return int(row[0])


def offline_wheel_points(conn: sqlite3.Connection, member_id: str, day_start: str) -> int:
    """Points the member moved offline here on the wheel since `day_start`: spin costs and points won."""
    row = conn.execute(
        "SELECT COALESCE(SUM(cost + points), 0) FROM wheel_spins WHERE member_id = ? AND offline = 1"
        " AND created_at >= ?",
        (member_id, day_start),
    ).fetchone()
    return int(row[0])


def offline_gift_points(conn: sqlite3.Connection, member_id: str, day_start: str) -> int:
    """Points moved offline today other than by redemptions (check-ins, the wheel): they share the
    offline points budget, since HQ cannot deduplicate them across kiosks while the link is down."""
    return offline_checkin_points(conn, member_id, day_start) + offline_wheel_points(conn, member_id, day_start)


def acknowledge_local_lot(conn: sqlite3.Connection, table: str, prefix: str, event_id: str, version: int) -> str | None:
    """HQ has the event `event_id` of `table` (checkins, wheel_spins): mark it acknowledged and drop
    its local lot (HQ's state has the points now). Returns the member, None if nothing was open."""
    row = conn.execute(
        f"UPDATE {table} SET acked_version = ? WHERE event_id = ? AND acked_version IS NULL RETURNING member_id",
        (version, event_id),
    ).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM lots WHERE member_id = ? AND lot_id = ?", (row[0], prefix + event_id))
    return str(row[0])


def restore_local_lots(conn: sqlite3.Connection, table: str, prefix: str, member_ids: Iterable[str] | None) -> None:
    """Put back the local lots of `table`'s unacknowledged rows that a snapshot's lots replaced
    (None: every member)."""
    sql = (
        "INSERT OR IGNORE INTO lots(member_id, lot_id, points, earned_at, expires_at)"
        f" SELECT e.member_id, ? || e.event_id, e.points, e.created_at, e.expires_at FROM {table} e"
        " JOIN members m ON m.member_id = e.member_id WHERE e.acked_version IS NULL AND e.points > 0"
    )
    if member_ids is None:
        conn.execute(sql, (prefix,))
        return
    for member_id in member_ids:
        conn.execute(sql + " AND e.member_id = ?", (prefix, member_id))
