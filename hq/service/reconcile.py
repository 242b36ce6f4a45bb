"""Reconciling what kiosks did: each new kiosk event's effect at HQ, inside the transaction that stores it.

- `redemption`: HQ debits the member's points oldest lot first, as of the redemption's time. A
  redemption HQ cannot cover (offline at two kiosks against the same points, within each kiosk's
  offline limits) is accepted and the rest recorded as an overdraft with an `overdraft` alarm:
  never refused, never lost. The voucher enters the registry (for the till's write-off); the
  card's counter moves up to the one the redemption wrote, and a second redemption on one card
  counter (two kiosks completing on the same card image) raises `counter_reuse`.
- `security.card_rollback` that HQ's card record confirms: the card is blocked fleet-wide
  (hq.service.denylist). Unconfirmed rollbacks, `security.uid_clone_suspected` and
  `security.card_rejected`: an alarm for the operator's review, subject = card UID.
- `checkin` (每日签到): once per member per store day across the fleet, by the `checkins` key
  (member_id, day). The first kiosk's check-in of the day earns, under the programme version the
  kiosk used, the day's points plus the streak bonus into a lot (entry kind `checkin`), repaying
  an overdraft first as any earning does; the streak is HQ's (the check-in of the day before, at
  any kiosk), not the kiosk's claim. A second kiosk's check-in of that day is stored as its event
  with outcome `duplicate` and no points; the member update it queues corrects that kiosk.
- `pin_locked`: a kiosk locked the member's redemptions after too many wrong PINs; HQ locks them
  fleet-wide (hq.service.pins) with a `pin_locked` alarm for the service desk, until an operator
  unlocks. One made before the operator's last unlock (sent late by an offline kiosk) locks nothing.
- `wheel_spin` (幸运大转盘, hq.service.wheel_spins): validated field by field (a malformed spin is
  stored with outcome `malformed` and a `bad_event` alarm saying why); applied once by its event
  id: the cost debited like a redemption (overdraft + alarm when HQ cannot cover it), points won
  into a lot, a won voucher into the registry, the spin into `wheel_spins` for the audit
  (hq.service.wheel). A free spin beyond the day's free spins (two kiosks offline) is accepted
  and flagged (`duplicate_free`); a spin disagreeing with the rules or its own draw is applied
  as the rules say and flagged (`wheel_mismatch` alarm).
- `birthday_gift` (生日礼, hq.service.birthday_gifts): validated field by field like a spin; applied
  once by its event id: the voucher into the registry (reward "birthday-gift", cost 0), the
  member's `birthday_gift_year`, a 0-point `birthday_gift` entry. A second claim of a member and
  year (two kiosks offline) is accepted and flagged (`duplicate_year`, `birthday_gift_duplicate`
  alarm); one disagreeing with the rules or the birthday is applied and flagged (`birthday_mismatch`).
- anything else is stored as it came.

The member's change is queued for the fleet with the event id, so every kiosk's next member
update both carries HQ's new state and tells the originating kiosk to stop counting its event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.domain.points import lot_expiry, settle_overdraft
from hq.domain.program import Program
from hq.service.birthday_gifts import apply_gift
from hq.service.denylist import confirm_rollback
from hq.service.feedback import record_change
from hq.service.listener_store import raise_alarm
from hq.service.pins import lock_from_kiosk
from hq.service.point_lots import debit_oldest_first
from hq.service.programs import current_program, program_of
from hq.service.voucher_keys import device_store
from hq.service.vouchers import register_from_event
from hq.service.wheel_spins import apply_spin
from hq.store import tables as t
from hq.store.upsert import insert_ignore
from sync.schemas import EventMessage

SECURITY_ALARMS = {
    "security.card_rollback": "card_rollback",
    "security.uid_clone_suspected": "uid_clone",
    "security.card_rejected": "card_rejected",
}


def apply_event(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    if event.type == "redemption":
        return _redemption(conn, event, now)
    if event.type == "checkin":
        return _checkin(conn, event, now)
    if event.type == "pin_locked":
        return _pin_locked(conn, event, now)
    if event.type == "wheel_spin":
        return apply_spin(conn, event, now)
    if event.type == "birthday_gift":
        return apply_gift(conn, event, now)
    alarm = SECURITY_ALARMS.get(event.type)
    if alarm is not None:
        uid = str(event.payload.get("uid") or "unknown")
        detail = event.payload.get("detail")
        if event.type == "security.card_rollback" and isinstance(detail, dict):
            if confirm_rollback(conn, uid, _int(detail, "card_counter"), f"{event.device_id}/{event.event_id}", now):
                raise_alarm(conn, "card_blocked", uid, f"confirmed rollback at {event.device_id}: {detail}", now)
                return "blocked"
        raise_alarm(conn, alarm, uid, f"{event.device_id}: {detail!r}"[:500], now)
        return "alarm"
    return "stored"


def _int(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _redemption(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    p = event.payload
    member_id, points, voucher_id = p.get("member_id"), _int(p, "points"), p.get("voucher_id")
    if not isinstance(member_id, str) or points is None or not isinstance(voucher_id, str):
        raise_alarm(
            conn, "bad_event", f"{event.device_id}/{event.seq}", "redemption without member/points/voucher", now
        )
        return "malformed"
    member = conn.execute(sa.select(t.members).where(t.members.c.member_id == member_id).with_for_update()).first()
    if member is None:
        raise_alarm(conn, "unknown_member", member_id, f"redemption {voucher_id} from {event.device_id}", now)
        return "unknown_member"
    plan = debit_oldest_first(conn, member_id, points, event.created_at, now)
    rules_version = _int(p, "rules_version") or 0
    if plan.shortfall:
        raise_alarm(
            conn, "overdraft", member_id,
            f"redemption {voucher_id} at {event.device_id} ({'offline' if event.offline else 'online'}) "
            f"needed {points} points, {plan.shortfall} beyond what HQ holds",
            now,
        )  # fmt: skip
    conn.execute(
        t.entries.insert().values(
            member_id=member_id, kind="redemption", points_delta=-plan.covered, overdraft_delta=plan.shortfall,
            ref=voucher_id, rules_version=rules_version, at=event.created_at,
            detail={"device_id": event.device_id, "event_id": event.event_id,
                    "lots": [[a.lot_id, a.points] for a in plan.allocations]},
        )
    )  # fmt: skip
    register_from_event(
        conn, voucher_id=voucher_id, member_id=member_id, device_id=event.device_id,
        store_id=device_store(conn, event.device_id), payload=p, points=points, issued_at=event.created_at,
        expires_at=_time(p.get("expires_at")), event_id=event.event_id, now=now,
    )  # fmt: skip
    _move_card_counter(conn, event, member_id, voucher_id, now)
    record_change(conn, member_id, now, event.event_id)
    return "overdraft" if plan.shortfall else "applied"


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _program(conn: Connection, version: int | None) -> Program:
    """The programme version the kiosk decided under, or the current one if HQ has no such version."""
    found = program_of(conn, version) if version else None
    return found if found is not None else current_program(conn)


def _checkin(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    p = event.payload
    member_id, day = p.get("member_id"), _day(p.get("day"))
    if not isinstance(member_id, str) or day is None:
        raise_alarm(conn, "bad_event", f"{event.device_id}/{event.seq}", "checkin without member/day", now)
        return "malformed"
    # The member's lock orders two kiosks' check-ins of one member (the key decides the winner).
    member = conn.execute(sa.select(t.members).where(t.members.c.member_id == member_id).with_for_update()).first()
    if member is None:
        raise_alarm(conn, "unknown_member", member_id, f"checkin {day} from {event.device_id}", now)
        return "unknown_member"
    c = t.checkins.c
    if conn.execute(sa.select(c.day).where(c.member_id == member_id, c.day == day.isoformat())).first() is not None:
        record_change(conn, member_id, now, event.event_id)  # that kiosk shows points HQ will not give
        return "duplicate"
    program = _program(conn, _int(p, "rules_version"))
    before = conn.execute(
        sa.select(c.streak).where(c.member_id == member_id, c.day == (day - dt.timedelta(days=1)).isoformat())
    ).scalar()
    streak = int(before) + 1 if before is not None else 1
    checkin = program.rules.checkin
    points, bonus = checkin.points_for(streak) if checkin is not None and checkin.enabled else (0, 0)
    if not insert_ignore(
        conn,
        t.checkins,
        {"member_id": member_id, "day": day.isoformat(), "device_id": event.device_id, "event_id": event.event_id,
         "points": points, "bonus": bonus, "streak": streak, "rules_version": program.version, "at": event.created_at},
    ):  # fmt: skip
        record_change(conn, member_id, now, event.event_id)
        return "duplicate"
    settlement = settle_overdraft(int(member.overdraft_points), points)
    lot_id = f"CI-{member_id}-{day.isoformat()}"
    if settlement.to_lot:
        conn.execute(
            t.lots.insert().values(
                lot_id=lot_id, member_id=member_id, points_earned=settlement.to_lot, points_left=settlement.to_lot,
                earned_at=event.created_at, expires_at=lot_expiry(event.created_at, program), source=event.event_id,
            )
        )  # fmt: skip
    latest = member.checkin_last_day is None or day.isoformat() >= member.checkin_last_day
    conn.execute(
        t.members.update()
        .where(t.members.c.member_id == member_id)
        .values(
            overdraft_points=settlement.overdraft_left,
            updated_at=now,
            # A late check-in (an offline kiosk's, of an earlier day) leaves the latest day as it is.
            **({"checkin_last_day": day.isoformat(), "checkin_streak": streak} if latest else {}),
        )
    )
    conn.execute(
        t.entries.insert().values(
            member_id=member_id, kind="checkin", points_delta=settlement.to_lot, overdraft_delta=-settlement.repaid,
            lot_id=lot_id if settlement.to_lot else None, ref=f"checkin:{member_id}:{day.isoformat()}",
            rules_version=program.version, at=event.created_at,
            detail={"device_id": event.device_id, "event_id": event.event_id, "day": day.isoformat(),
                    "streak": streak, "bonus": bonus, "kiosk_points": _int(p, "points"), "offline": event.offline},
        )
    )  # fmt: skip
    record_change(conn, member_id, now, event.event_id)
    return "applied" if points else "no_points"


def _time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _move_card_counter(
    conn: Connection, event: EventMessage, member_id: str, voucher_id: str, now: dt.datetime
) -> None:
    uid, counter = event.payload.get("card_uid"), _int(event.payload, "card_counter")
    if not isinstance(uid, str) or counter is None:
        return
    card = conn.execute(sa.select(t.cards).where(t.cards.c.uid == uid.lower()).with_for_update()).first()
    if card is None:
        return
    if counter <= int(card.last_counter):
        raise_alarm(
            conn, "counter_reuse", uid.lower(),
            f"redemption {voucher_id} at {event.device_id} wrote counter {counter}, HQ already had {card.last_counter}",
            now,
        )  # fmt: skip
        return
    conn.execute(t.cards.update().where(t.cards.c.uid == uid.lower()).values(last_counter=counter))


def _pin_locked(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    member_id = event.payload.get("member_id")
    if not isinstance(member_id, str) or not member_id:
        raise_alarm(conn, "bad_event", f"{event.device_id}/{event.seq}", "pin_locked without member_id", now)
        return "malformed"
    exists = conn.execute(sa.select(t.members.c.member_id).where(t.members.c.member_id == member_id)).first()
    if exists is None:
        raise_alarm(conn, "unknown_member", member_id, f"pin_locked from {event.device_id}", now)
        return "unknown_member"
    outcome = lock_from_kiosk(
        conn, member_id, device_id=event.device_id, event_id=event.event_id, made_at=event.created_at, now=now
    )
    if outcome == "locked":
        # A lock can mean a stolen card being tried: the service desk should hear of it.
        failures = _int(event.payload, "failures")
        raise_alarm(conn, "pin_locked", member_id, f"{failures} wrong PINs at {event.device_id}", now)
    return outcome
