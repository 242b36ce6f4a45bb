"""Members as the kiosk holds them: HQ's snapshot row, plus helpers for what the screen may show.

The member's displayed name is always masked (张三明 -> 张*明); the full name never leaves the
ledger. Birthdays are stored as "YYYY-MM-DD" (or "MM-DD" when HQ knows no year).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import unicodedata
from dataclasses import dataclass

from kiosk.ledger.errors import UnknownMember


@dataclass(frozen=True)
class MemberRecord:
    member_id: str
    name: str
    birthday: str | None
    balance_fen: int
    spend_fen: int
    growth_points: int
    tier_floor: str | None
    tier_override: str | None
    snapshot_version: int


def load(conn: sqlite3.Connection, member_id: str) -> MemberRecord:
    row = conn.execute(
        "SELECT member_id, name, birthday, balance_fen, spend_fen, growth_points, tier_floor, tier_override, "
        "snapshot_version FROM members WHERE member_id = ?",
        (member_id,),
    ).fetchone()
    if row is None:
        raise UnknownMember(f"no member {member_id!r} in the local ledger")
    return MemberRecord(*row)


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def mask_name(name: str) -> str:
    """Hide all but the first and last character: 张三明 -> 张*明, 欧阳小明 -> 欧**明, 张三 -> 张*.

    Latin names keep each word's initial: "Li Xiaoming" -> "L* X*******".
    """
    name = name.strip()
    if not name:
        return "*"
    if any(_is_wide(c) for c in name):
        chars = [c for c in name if not c.isspace()]
        if len(chars) == 1:
            return chars[0]
        if len(chars) == 2:
            return chars[0] + "*"
        return chars[0] + "*" * (len(chars) - 2) + chars[-1]
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def birthday_today(birthday: str | None, today: dt.date) -> bool:
    """True on the member's birthday; a 29 February birthday is celebrated on 28 February otherwise."""
    if not birthday:
        return False
    try:
        month, day = (int(p) for p in birthday.split("-")[-2:])
    except ValueError:
        return False
    if (month, day) == (2, 29):
        leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
        return (today.month, today.day) == ((2, 29) if leap else (2, 28))
    return (today.month, today.day) == (month, day)
