"""Daily check-in (每日签到): once per member per store calendar day, with a streak and its bonuses.

The day is the calendar day of the store's timezone (the ledger's `tz`, the kiosk's StoreClock),
so a check-in at 23:59 and one at 00:01 are two days, whatever UTC says. Once per day is enforced
here twice over: against the streak HQ last sent (`members.checkin_last_day`: the member may have
checked in at another kiosk today) and by the `checkins` table's key (member_id, day).

The streak is the fleet's: HQ's `checkin_last_day` / `checkin_streak` for the member, unless this
kiosk has a check-in of its own on a later day that HQ has not reflected yet; a check-in on the
day after the last one makes the streak one longer, any other day starts it again at 1. The
points are the rules' `points_per_day` plus the bonus of that streak day, if any.

The points go into a local lot (lot_id "checkin:<event id>") so they count, and can be spent,
at once, exactly like HQ's lots: points_held, FIFO and expiries need nothing new. The lot stands
until HQ acknowledges the event: then HQ's own lot (or, for a check-in HQ found a duplicate of,
no lot) replaces it. A snapshot replaces a member's lots, so it puts the unacknowledged local
lots back (`restore_local_lots`). The local lot does not know HQ's lot validity, so it expires
far away and is not listed among the member's upcoming expiries: HQ's lot shows the real date.

Offline, a check-in works and counts against the offline limits: its points count in the
member's offline points per day (the same budget offline redemptions draw on), because points
given out while HQ cannot deduplicate across kiosks are points at risk, like points spent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import uuid
from collections.abc import Iterable

from kiosk.ledger import outbox
from kiosk.ledger.db import from_ts, ts
from kiosk.ledger.errors import CheckinRefused, OfflineLimitReached, UnknownMember
from kiosk.ledger.points import (
    LOCAL_LOT_PREFIX,
    acknowledge_local_lot,
    offline_gift_points,
    offline_spent_today,
)
from kiosk.ledger.points import restore_local_lots as restore_lots
from kiosk.ledger.rules import Rules
from kiosk.model import CheckinResult, CheckinStatus, HistoryItem

#: How long a local lot stands at most: far beyond any wait for HQ's acknowledgement.
_LOCAL_LOT_DAYS = 3660
_EVENT_NS = uuid.UUID("0c4b8a57-2f1e-4d5e-9a0b-7c3d2e1f6a48")


def event_id_for(device_id: str, member_id: str, day: dt.date) -> str:
    """The check-in event's id: the same device, member and day always give the same id."""
    return str(
        uuid.UUID(
            bytes=hashlib.sha1(_EVENT_NS.bytes + f"{device_id}/{member_id}/{day}".encode()).digest()[:16], version=5
        )
    )


def store_day(now: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return now.astimezone(tz).date()


def _streak_state(conn: sqlite3.Connection, member_id: str) -> tuple[dt.date | None, int]:
    """(last check-in day, streak on that day): HQ's, or this kiosk's own if it is of a later day."""
    row = conn.execute(
        "SELECT checkin_last_day, checkin_streak FROM members WHERE member_id = ?", (member_id,)
    ).fetchone()
    if row is None:
        raise UnknownMember(f"no member {member_id!r} in the local ledger")
    last = dt.date.fromisoformat(row[0]) if row[0] else None
    streak = int(row[1] or 0) if last else 0
    local = conn.execute(
        "SELECT day, streak FROM checkins WHERE member_id = ? ORDER BY day DESC LIMIT 1", (member_id,)
    ).fetchone()
    if local is not None:
        day = dt.date.fromisoformat(local[0])
        # Strictly later only: on the same day HQ's word wins (another kiosk may have been first).
        if last is None or day > last:
            return day, int(local[1])
    return last, streak


def status(conn: sqlite3.Connection, rules: Rules, member_id: str, today: dt.date) -> CheckinStatus | None:
    """What the member screen shows; None when the rules offer no check-in."""
    checkin = rules.checkin
    if checkin is None or not checkin.enabled:
        return None
    last, streak = _streak_state(conn, member_id)
    if last == today:
        return CheckinStatus(checked_in_today=True, streak=streak, next_points=0)
    running = streak if last == today - dt.timedelta(days=1) else 0
    return CheckinStatus(checked_in_today=False, streak=running, next_points=checkin.points_for(running + 1)[0])


def _check_offline_limits(
    conn: sqlite3.Connection, points_per_day: int, member_id: str, points: int, day_start: str
) -> None:
    _, spent = offline_spent_today(conn, member_id, day_start)
    used = spent + offline_gift_points(conn, member_id, day_start)
    if used + points > points_per_day:
        raise OfflineLimitReached(
            member_id,
            "points_per_day",
            f"{used} + {points} points exceed {points_per_day} offline points per day",
        )


def check_in_in_tx(
    conn: sqlite3.Connection,
    rules: Rules | None,
    *,
    device_id: str,
    tz: dt.tzinfo,
    offline_points_per_day: int,
    member_id: str,
    online: bool,
    now: dt.datetime,
) -> CheckinResult:
    """Check the member in for today (call inside a transaction): local lot, row, outbox event.

    Raises CheckinRefused (not offered, already today), OfflineLimitReached, UnknownMember.
    """
    checkin = rules.checkin if rules is not None else None
    if rules is None or checkin is None or not checkin.enabled:
        raise CheckinRefused(member_id, "not_offered")
    today = store_day(now, tz)
    last, streak = _streak_state(conn, member_id)
    if last is not None and last >= today:
        raise CheckinRefused(member_id, "already_today")
    streak = streak + 1 if last == today - dt.timedelta(days=1) else 1
    points, bonus = checkin.points_for(streak)
    local = now.astimezone(tz)
    day_start = ts(local.replace(hour=0, minute=0, second=0, microsecond=0))
    if not online:
        _check_offline_limits(conn, offline_points_per_day, member_id, points, day_start)
    event_id = event_id_for(device_id, member_id, today)
    at = ts(now)
    expires = ts(now + dt.timedelta(days=_LOCAL_LOT_DAYS))
    try:
        conn.execute(
            "INSERT INTO checkins(member_id, day, event_id, points, bonus, streak, created_at, expires_at, offline,"
            " rules_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                member_id,
                today.isoformat(),
                event_id,
                points,
                bonus,
                streak,
                at,
                expires,
                int(not online),
                rules.version,
            ),
        )
    except sqlite3.IntegrityError:  # the key: a check-in of today that HQ's streak does not show yet
        raise CheckinRefused(member_id, "already_today") from None
    if points:
        conn.execute(
            "INSERT INTO lots(member_id, lot_id, points, earned_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (member_id, LOCAL_LOT_PREFIX + event_id, points, at, expires),
        )
    outbox.append(
        conn,
        event_id=event_id,
        type="checkin",
        created_at=now,
        offline=not online,
        payload={
            "device_id": device_id,
            "member_id": member_id,
            "day": today.isoformat(),
            "points": points,
            "bonus": bonus,
            "streak": streak,
            "rules_version": rules.version,
            "offline": not online,
        },
    )
    return CheckinResult(day=today, points=points, bonus=bonus, streak=streak, offline=not online)


def acknowledge(conn: sqlite3.Connection, event_id: str, version: int) -> str | None:
    """HQ has the check-in `event_id`: its local lot goes (HQ's state has it now). Returns the member."""
    return acknowledge_local_lot(conn, "checkins", LOCAL_LOT_PREFIX, event_id, version)


def restore_local_lots(conn: sqlite3.Connection, member_ids: Iterable[str] | None) -> None:
    """Put back the local lots of unacknowledged check-ins a snapshot's lots replaced (None: every member)."""
    restore_lots(conn, "checkins", LOCAL_LOT_PREFIX, member_ids)


def pending_history(conn: sqlite3.Connection, member_id: str, device_id: str, tz: dt.tzinfo) -> list[HistoryItem]:
    """This kiosk's check-ins HQ has not acknowledged, as pending lines of the points history."""
    return [
        HistoryItem(kind="checkin", points=points, at=from_ts(created_at, tz), place=device_id, pending=True)
        for points, created_at in conn.execute(
            "SELECT points, created_at FROM checkins WHERE member_id = ? AND acked_version IS NULL AND points > 0",
            (member_id,),
        )
    ]
