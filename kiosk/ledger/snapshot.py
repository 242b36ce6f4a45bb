"""Applying HQ's member snapshot: full replacement or per-member updates, in one transaction.

Each member is a dict:

    {
      "member_id": "M000123",                 # required, text
      "name": "张三明",                        # required, full name (the kiosk only shows it masked)
      "birthday": "1990-05-17" | "05-17" | None,
      "balance_fen": 12345,                   # stored value, integer fen (default 0)
      "spend_fen": 523400,                    # cumulative spend for tier rules (default 0)
      "growth_points": 0,                     # growth value for tier rules (default 0)
      "tier_floor": "silver" | None,          # tier HQ assigned at its last evaluation
      "tier_override": "gold" | None,         # manual override by HQ staff
      "cards": [{"uid": "04a1b2c3", "issue_no": 2, "status": "active", "last_counter": 17}],
      "lots": [{"lot_id": "L1", "points": 300,  # points HQ says are left of the lot
                "earned_at": "2026-01-31T10:00:00+08:00", "expires_at": "2027-01-31T00:00:00+08:00"}],
      "vouchers": [{"voucher_id": "kiosk-01-7", "state": "used",     # optional state changes from HQ:
                    "at": "2026-03-12T14:05:00+08:00",              # issued | used | reversed |
                    "store_id": "store-1", "till_id": "till-3"}],   # cancelled | expired; at/store/till optional
      "history": [{"kind": "earn", "points": 120,                   # optional: the last point movements
                   "at": "2026-03-12T06:05:00+00:00",               # (积分明细), newest first; points
                   "store_id": "store-1"},                          # signed; store_id, device_id and
                  {"kind": "redemption", "points": -800, "at": "...", # voucher_id optional
                   "device_id": "kiosk-01", "voucher_id": "kiosk-01-7"}],
      "checkin_last_day": "2026-03-12" | None,  # optional: the member's last check-in (store day)
      "checkin_streak": 3,                    #   and the streak on that day, fleet-wide (每日签到)
      "wheel_day": "2026-03-12" | None,       # optional: the store day of wheel_free_used, the free
      "wheel_free_used": 1,                   #   spins HQ counted that day across kiosks (幸运大转盘)
      "birthday_gift_year": 2026 | None,      # optional: the last year HQ recorded a birthday gift
      "pin_hash": "scrypt$n=16384,r=8,p=1$...",  # optional: the PIN's hash (kiosk.ledger.pin_kdf),
      "pin_locked": false,                    #   absent = none set; pin_locked: HQ locked spending
      "deleted": false                        # per-member update only: remove the member
    }

`acknowledged_event_ids` are this kiosk's events HQ has merged into the snapshot: from now on they
stop counting locally (their point spends are released, because the snapshot's lots already
reflect them). Events not acknowledged keep counting on top of the new snapshot, re-allocated FIFO
against its lots. With `full=True` members missing from the snapshot are removed; otherwise the
given members are upserted and the rest kept. Either way it is all-or-nothing: an invalid entry
raises InvalidSnapshot naming it and nothing changes. Card counters only ever move forward.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from kiosk.ledger import cards as card_store
from kiosk.ledger import checkin, pin_lock, wheel
from kiosk.ledger.db import get_meta, set_meta, ts
from kiosk.ledger.errors import InvalidDenylist, InvalidSnapshot, StaleVersion
from kiosk.ledger.points import reallocate_member
from kiosk.model import VoucherState

_MEMBER_KEYS = {
    "member_id",
    "name",
    "birthday",
    "balance_fen",
    "spend_fen",
    "growth_points",
    "tier_floor",
    "tier_override",
    "cards",
    "lots",
    "vouchers",
    "history",
    "checkin_last_day",
    "checkin_streak",
    "wheel_day",
    "wheel_free_used",
    "birthday_gift_year",
    "pin_hash",
    "pin_locked",
    "deleted",
}

#: History items one member may carry. HQ sends 20 (hq/service/kiosk_entry.py); the cap bounds
#: what a single update can make the kiosk store and the history screen draw.
MAX_HISTORY_ITEMS = 100
#: An entry kind as HQ names them. Unknown kinds are accepted (a newer HQ may add check-ins or
#: prize-wheel spins) and shown under a generic label, so they never make a whole update fail.
_HISTORY_KIND = re.compile(r"[a-z][a-z0-9_.]{0,31}")
#: Voucher ids are HQ's (voucher_registry.voucher_id): at most 100 characters.
_MAX_VOUCHER_ID = 100


def snapshot_version(conn: sqlite3.Connection) -> int | None:
    value = get_meta(conn, "member_snapshot_version")
    return int(value) if value is not None else None


def _bad(index: int, member: Any, message: str) -> InvalidSnapshot:
    who = member.get("member_id") if isinstance(member, Mapping) else None
    return InvalidSnapshot(f"member snapshot: members[{index}]" + (f" ({who})" if who else "") + f": {message}")


#: SQLite stores at most a signed 64-bit INTEGER; larger numbers raised OverflowError on insert.
_INT_MAX = 2**63 - 1


def _count(value: Any) -> bool:
    """A non-negative integer that fits the database (bool is an int, but not a count)."""
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= _INT_MAX


def _int(member: Mapping[str, Any], key: str, index: int, default: int = 0) -> int:
    value = member.get(key, default)
    if not _count(value):
        raise _bad(index, member, f"{key} must be a non-negative integer (at most {_INT_MAX}), got {value!r}")
    return value


def _items(member: Mapping[str, Any], key: str, index: int) -> list[Any]:
    """An optional list field; anything else is refused rather than iterated (5, true, "abc")."""
    value = member.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(index, member, f"{key} must be a list, got {type(value).__name__}")
    return value


def _opt_text(member: Mapping[str, Any], key: str, index: int) -> str | None:
    value = member.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _bad(index, member, f"{key} must be a non-empty string or null, got {value!r}")
    return value


def _when(value: Any, where: str, index: int, member: Mapping[str, Any]) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(index, member, f"{where} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise _bad(index, member, f"{where} needs a UTC offset: {value!r}")
    try:
        return ts(parsed)
    except OverflowError:  # 9999-12-31T23:59-23:59 is past year 9999 in UTC
        raise _bad(index, member, f"{where} is out of range: {value!r}") from None


#: Store and till ids are ids of the contract (docs/mqtt.md): at most 64 characters.
_MAX_ID = 64


def _voucher_update(voucher: Any, j: int, index: int, member: Mapping[str, Any], states: set[str]) -> tuple:
    """(state, at, store, till, voucher_id, member_id) for the UPDATE; InvalidSnapshot if malformed."""
    if not isinstance(voucher, Mapping) or not isinstance(voucher.get("state"), str) or voucher["state"] not in states:
        raise _bad(index, member, f"vouchers[{j}] needs voucher_id and a state in {sorted(states)}")
    at = voucher.get("at")
    stored_at = _when(at, f"vouchers[{j}].at", index, member) if at is not None else None
    place = []
    for key in ("store_id", "till_id"):
        value = voucher.get(key)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= _MAX_ID):
            raise _bad(index, member, f"vouchers[{j}].{key} must be 1..{_MAX_ID} characters or null, got {value!r}")
        place.append(value)
    return (voucher["state"], stored_at, *place, str(voucher.get("voucher_id")), member["member_id"])


def _history(member: Mapping[str, Any], index: int) -> str | None:
    """The validated history as stored JSON (times as stored UTC text); None when HQ sent none."""
    if member.get("history") is None:
        return None
    items = _items(member, "history", index)
    if len(items) > MAX_HISTORY_ITEMS:
        raise _bad(index, member, f"history has {len(items)} items, at most {MAX_HISTORY_ITEMS}")
    clean: list[dict[str, Any]] = []
    for j, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _bad(index, member, f"history[{j}] must be an object, got {type(item).__name__}")
        kind = item.get("kind")
        if not isinstance(kind, str) or not _HISTORY_KIND.fullmatch(kind):
            raise _bad(index, member, f"history[{j}].kind must be a lower-case word, got {kind!r}")
        points = item.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or abs(points) > _INT_MAX:
            raise _bad(index, member, f"history[{j}].points must be an integer, got {points!r}")
        entry: dict[str, Any] = {
            "kind": kind,
            "points": points,
            "at": _when(item.get("at"), f"history[{j}].at", index, member),
        }
        for key, longest in (("store_id", _MAX_ID), ("device_id", _MAX_ID), ("voucher_id", _MAX_VOUCHER_ID)):
            value = item.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not 1 <= len(value) <= longest:
                raise _bad(index, member, f"history[{j}].{key} must be 1..{longest} characters or null, got {value!r}")
            entry[key] = value
        clean.append(entry)
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def _opt_year(member: Mapping[str, Any], index: int) -> int | None:
    value = member.get("birthday_gift_year")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 9999:
        raise _bad(index, member, f"birthday_gift_year must be a year or null, got {value!r}")
    return value


def _day(member: Mapping[str, Any], key: str, index: int) -> str | None:
    value = member.get(key)
    if value is None:
        return None
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise _bad(index, member, f"{key} must be a day as YYYY-MM-DD or null, got {value!r}")


def apply(
    conn: sqlite3.Connection,
    version: int,
    members: Iterable[Mapping[str, Any]],
    acknowledged_event_ids: Iterable[str],
    *,
    full: bool,
    now: dt.datetime,
) -> int:
    """Apply a snapshot (call inside a transaction). Returns the number of member entries."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidSnapshot(f"member snapshot: version must be a positive integer, got {version!r}")
    current = snapshot_version(conn)
    if current is not None and version <= current:
        raise StaleVersion(f"member snapshot version {version} is not newer than the applied version {current}")

    member_rows: list[tuple] = []
    lot_rows: list[tuple] = []
    card_rows: list[tuple] = []
    voucher_updates: list[tuple] = []
    pins: list[pin_lock.MemberPin] = []
    deleted: list[str] = []
    now_ts = ts(now)
    states = {s.value for s in VoucherState}
    for index, member in enumerate(members):
        if not isinstance(member, Mapping):
            raise _bad(index, member, f"must be an object, got {type(member).__name__}")
        unknown = set(member) - _MEMBER_KEYS
        if unknown:
            raise _bad(index, member, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        member_id = member.get("member_id")
        if not isinstance(member_id, str) or not member_id:
            raise _bad(index, member, f"member_id must be a non-empty string, got {member_id!r}")
        if member.get("deleted"):
            if full:
                raise _bad(index, member, "deleted entries only make sense in a per-member update")
            deleted.append(member_id)
            continue
        name = member.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad(index, member, f"name must be a non-empty string, got {name!r}")
        member_rows.append(
            (
                member_id,
                name,
                _opt_text(member, "birthday", index),
                _int(member, "balance_fen", index),
                _int(member, "spend_fen", index),
                _int(member, "growth_points", index),
                _opt_text(member, "tier_floor", index),
                _opt_text(member, "tier_override", index),
                version,
                _history(member, index),
                _day(member, "checkin_last_day", index),
                _int(member, "checkin_streak", index),
                _day(member, "wheel_day", index),
                _int(member, "wheel_free_used", index),
                _opt_year(member, index),
            )
        )
        pins.append(pin_lock.entry_pin(member, functools.partial(_bad, index, member)))
        for j, lot in enumerate(_items(member, "lots", index)):
            if not isinstance(lot, Mapping) or not isinstance(lot.get("lot_id"), str) or not lot["lot_id"]:
                raise _bad(index, member, f"lots[{j}] needs a non-empty lot_id")
            points = lot.get("points")
            if not _count(points):
                raise _bad(index, member, f"lots[{j}].points must be a non-negative integer, got {points!r}")
            lot_rows.append(
                (
                    member_id,
                    lot["lot_id"],
                    points,
                    _when(lot.get("earned_at"), f"lots[{j}].earned_at", index, member),
                    _when(lot.get("expires_at"), f"lots[{j}].expires_at", index, member),
                )
            )
        for j, card in enumerate(_items(member, "cards", index)):
            if not isinstance(card, Mapping):
                raise _bad(index, member, f"cards[{j}] must be an object")
            try:
                uid = card_store.uid_bytes(card.get("uid"), f"cards[{j}].uid")
            except InvalidDenylist as exc:
                raise _bad(index, member, str(exc)) from None
            status = card.get("status", "active")
            if status not in card_store.CARD_STATUSES:
                raise _bad(
                    index, member, f"cards[{j}].status must be one of {card_store.CARD_STATUSES}, got {status!r}"
                )
            issue_no, counter = card.get("issue_no", 1), card.get("last_counter", 0)
            for key, value in (("issue_no", issue_no), ("last_counter", counter)):
                if not _count(value):
                    raise _bad(index, member, f"cards[{j}].{key} must be a non-negative integer, got {value!r}")
            card_rows.append((uid, member_id, issue_no, status, counter, now_ts))
        for j, voucher in enumerate(_items(member, "vouchers", index)):
            voucher_updates.append(_voucher_update(voucher, j, index, member, states))

    acked = [str(e) for e in acknowledged_event_ids]
    touched = {row[0] for row in member_rows} | set(deleted)

    # Events HQ has merged stop counting: mark them and release their point allocations.
    acked_members = set()
    for event_id in acked:
        row = conn.execute(
            "SELECT member_id FROM local_events WHERE event_id = ? AND acked_version IS NULL", (event_id,)
        ).fetchone()
        if row:
            acked_members.add(row[0])
            conn.execute("UPDATE local_events SET acked_version = ? WHERE event_id = ?", (version, event_id))
            conn.execute("DELETE FROM spends WHERE member_id = ? AND event_id = ?", (row[0], event_id))
        else:
            member_of_checkin = checkin.acknowledge(conn, event_id, version)
            if member_of_checkin is not None:
                acked_members.add(member_of_checkin)
        # A spin may have both: a local event (its cost) and a local lot (points won).
        member_of_spin = wheel.acknowledge(conn, event_id, version)
        if member_of_spin is not None:
            acked_members.add(member_of_spin)

    pins_before = pin_lock.previous(conn)  # before the deletes below take the rows away
    if full:
        conn.execute("DELETE FROM lots")
        conn.execute("DELETE FROM members")
    else:
        for member_id in touched:
            conn.execute("DELETE FROM lots WHERE member_id = ?", (member_id,))
        for member_id in deleted:
            conn.execute("DELETE FROM members WHERE member_id = ?", (member_id,))
    conn.executemany(
        """
        INSERT INTO members(member_id, name, birthday, balance_fen, spend_fen, growth_points, tier_floor,
                            tier_override, snapshot_version, history, checkin_last_day, checkin_streak,
                            wheel_day, wheel_free_used, birthday_gift_year)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(member_id) DO UPDATE SET name = excluded.name, birthday = excluded.birthday,
            balance_fen = excluded.balance_fen, spend_fen = excluded.spend_fen,
            growth_points = excluded.growth_points, tier_floor = excluded.tier_floor,
            tier_override = excluded.tier_override, snapshot_version = excluded.snapshot_version,
            history = excluded.history, checkin_last_day = excluded.checkin_last_day,
            checkin_streak = excluded.checkin_streak, wheel_day = excluded.wheel_day,
            wheel_free_used = excluded.wheel_free_used, birthday_gift_year = excluded.birthday_gift_year
        """,
        member_rows,
    )
    pin_lock.apply_snapshot(conn, pins, pins_before, acked)
    try:
        conn.executemany(
            "INSERT INTO lots(member_id, lot_id, points, earned_at, expires_at) VALUES (?, ?, ?, ?, ?)", lot_rows
        )
    except sqlite3.IntegrityError as exc:
        raise InvalidSnapshot(f"member snapshot: duplicate lot id within a member ({exc})") from None
    # The lots just replaced held this kiosk's unconfirmed check-ins and wheel wins too: they keep counting.
    upserted = None if full else [row[0] for row in member_rows]
    checkin.restore_local_lots(conn, upserted)
    wheel.restore_local_lots(conn, upserted)
    conn.executemany(
        """
        INSERT INTO cards(uid, member_id, issue_no, status, last_counter, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(uid) DO UPDATE SET member_id = excluded.member_id, issue_no = excluded.issue_no,
            status = excluded.status, last_counter = MAX(cards.last_counter, excluded.last_counter),
            updated_at = excluded.updated_at
        """,
        card_rows,
    )
    conn.executemany(
        "UPDATE vouchers SET state = ?, state_at = ?, state_store = ?, state_till = ?"
        " WHERE voucher_id = ? AND member_id = ?",
        voucher_updates,
    )

    # Unacknowledged local events keep counting, re-allocated against the new lots.
    # Members with unacknowledged events: exactly those with spends (see points.reallocate_member).
    pending = {r[0] for r in conn.execute("SELECT DISTINCT member_id FROM spends")}
    # A full snapshot replaced every lot, so every member with pending events needs re-allocation.
    for member_id in pending if full else pending & (touched | acked_members):
        reallocate_member(conn, member_id)
    set_meta(conn, "member_snapshot_version", str(version))
    return len(member_rows) + len(deleted)
