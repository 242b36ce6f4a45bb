"""Birthday gift (生日礼) and member day (会员日): occasions the rules turn into benefits.

**The birthday gift** is a voucher the member claims at a kiosk once a year, from their birthday
(a 29 February birthday is 28 February in other years) for the rules' `window_days` store days.
It is the same signed voucher a redemption gives (reward id "birthday-gift", no points), so the
till writes it off like any other. Once a year is enforced against HQ's `birthday_gift_year` (a
claim at another kiosk) and by the `birthday_gifts` table's key (member, year). A claim sends a
`birthday_gift` event; offline it counts as one of the member's offline redemptions of the day,
since it is a voucher HQ cannot yet deduplicate across kiosks.

**Member day** is only shown here: HQ earns purchases on member day at the rules' multiplier.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import uuid

from kiosk.ledger import outbox, points
from kiosk.ledger.db import ts
from kiosk.ledger.errors import BirthdayGiftRefused, OfflineLimitReached, UnknownMember
from kiosk.ledger.redemption import Context, mint_voucher, store_voucher
from kiosk.ledger.rules import BIRTHDAY_REWARD_ID, BirthdayGift, Rules
from kiosk.ledger.views import voucher_by_id, voucher_view
from kiosk.model import BirthdayGiftStatus, MemberDayInfo, VoucherView

_EVENT_NS = uuid.UUID("5d0e3b9c-8a41-4f7e-b2c6-1e9f4a7d3c85")


def event_id_for(device_id: str, claim_id: str) -> str:
    digest = hashlib.sha1(_EVENT_NS.bytes + f"{device_id}/{claim_id}".encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=5))


def _birthday_in(year: int, month: int, day: int) -> dt.date:
    if (month, day) == (2, 29):
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return dt.date(year, 2, 29 if leap else 28)
    return dt.date(year, month, day)


def window(birthday: str | None, today: dt.date, days: int) -> tuple[int, dt.date] | None:
    """(the year whose gift it is, the last day to claim it) when `today` is in a claim window.

    A window may run over New Year (a 30 December birthday): last year's birthday counts then."""
    if not birthday:
        return None
    try:
        month, day = (int(p) for p in birthday.split("-")[-2:])
        dt.date(2000, month, day)  # a real day (2000 is leap: 29 February passes)
    except ValueError:
        return None
    for year in (today.year, today.year - 1):
        start = _birthday_in(year, month, day)
        end = start + dt.timedelta(days=days - 1)
        if start <= today <= end:
            return year, end
    return None


def _birthday_and_claims(conn: sqlite3.Connection, member_id: str) -> tuple[str | None, int | None, set[int]]:
    """(birthday, the last gift year HQ recorded, the years claimed here) of the member."""
    row = conn.execute("SELECT birthday, birthday_gift_year FROM members WHERE member_id = ?", (member_id,)).fetchone()
    if row is None:
        raise UnknownMember(f"no member {member_id!r} in the local ledger")
    here = {int(y) for (y,) in conn.execute("SELECT year FROM birthday_gifts WHERE member_id = ?", (member_id,))}
    return row[0], row[1], here


def _claimed(hq_year: int | None, here: set[int], year: int) -> bool:
    return year in here or (hq_year is not None and int(hq_year) >= year)


def _gift(rules: Rules | None) -> BirthdayGift | None:
    gift = rules.birthday_gift if rules is not None else None
    return gift if gift is not None and gift.enabled else None


def status(conn: sqlite3.Connection, rules: Rules, member_id: str, today: dt.date) -> BirthdayGiftStatus | None:
    """The gift as the member screen shows it; None when there is none or it is not the time."""
    gift = _gift(rules)
    if gift is None:
        return None
    birthday, hq_year, here = _birthday_and_claims(conn, member_id)
    found = window(birthday, today, gift.window_days)
    if found is None:
        return None
    year, until = found
    return BirthdayGiftStatus(
        name=dict(gift.name), value_fen=gift.value_fen, until=until, claimed=_claimed(hq_year, here, year)
    )


def member_day(rules: Rules, today: dt.date) -> MemberDayInfo | None:
    day = rules.member_day
    if day is None or not day.includes(today):
        return None
    return MemberDayInfo(name=dict(day.name), points_multiplier=str(day.points_multiplier))


def claim_in_tx(
    ctx: Context, rules: Rules | None, *, claim_id: str, member_id: str, online: bool, now: dt.datetime
) -> VoucherView:
    """Claim this year's birthday gift (call inside a transaction); a repeated `claim_id` returns
    the same voucher. Raises BirthdayGiftRefused ("not_offered", "not_now", "claimed"),
    OfflineLimitReached, UnknownMember."""
    conn = ctx.conn
    earlier = conn.execute("SELECT voucher_id FROM birthday_gifts WHERE claim_id = ?", (claim_id,)).fetchone()
    if earlier is not None:
        row = voucher_by_id(conn, earlier[0])
        assert row is not None, "a claimed gift's voucher is missing"
        return voucher_view(row, now, ctx.tz)
    gift = _gift(rules)
    if rules is None or gift is None:
        raise BirthdayGiftRefused(member_id, "not_offered")
    birthday, hq_year, here = _birthday_and_claims(conn, member_id)
    today = now.astimezone(ctx.tz).date()
    claim_window = window(birthday, today, gift.window_days)
    if claim_window is None:
        raise BirthdayGiftRefused(member_id, "not_now")
    year, _ = claim_window
    if _claimed(hq_year, here, year):
        raise BirthdayGiftRefused(member_id, "claimed")
    if not online:
        day_start = ts(now.astimezone(ctx.tz).replace(hour=0, minute=0, second=0, microsecond=0))
        count, _ = points.offline_spent_today(conn, member_id, day_start)
        limit = ctx.offline_limits.redemptions_per_day
        if count + 1 > limit:
            raise OfflineLimitReached(
                member_id, "redemptions_per_day", f"{count} of {limit} offline redemptions used today"
            )
    event_id = event_id_for(ctx.device_id, claim_id)
    minted = mint_voucher(ctx, BIRTHDAY_REWARD_ID, gift.value_fen, gift.validity_days, now)
    at = ts(now)
    outbox.append(
        conn,
        event_id=event_id,
        type="birthday_gift",
        created_at=now,
        offline=not online,
        payload={
            "device_id": ctx.device_id,
            "claim_id": claim_id,
            "member_id": member_id,
            "year": year,
            "voucher": {
                "voucher_id": minted.voucher_id,
                "voucher_code": minted.code,
                "reward_id": BIRTHDAY_REWARD_ID,
                "value_fen": gift.value_fen,
                "issued_at": minted.issued_at.isoformat(),
                "expires_at": minted.expires_at.isoformat(),
            },
            "rules_version": rules.version,
            "offline": not online,
        },
    )
    store_voucher(
        ctx,
        minted,
        member_id=member_id,
        reward_id=BIRTHDAY_REWARD_ID,
        name_json=gift.name_json,
        value_fen=gift.value_fen,
        cost=0,
        online=online,
        intent_id=claim_id,
        event_id=event_id,
        rules_version=rules.version,
        card=(None, None),
        prepared=(at, rules.version),
    )
    conn.execute(
        "INSERT INTO birthday_gifts(member_id, year, claim_id, event_id, voucher_id, created_at, offline)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (member_id, year, claim_id, event_id, minted.voucher_id, at, int(not online)),
    )
    return minted.view(ctx.tz, dict(gift.name), gift.value_fen, online, now)
