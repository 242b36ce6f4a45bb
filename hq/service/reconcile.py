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
- anything else is stored as it came.

The member's change is queued for the fleet with the event id, so every kiosk's next member
update both carries HQ's new state and tells the originating kiosk to stop counting its event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.domain.points import Lot, spend_oldest_first
from hq.service.denylist import confirm_rollback
from hq.service.feedback import record_change
from hq.service.listener_store import raise_alarm
from hq.service.vouchers import register_from_event
from hq.store import tables as t
from sync.schemas import EventMessage

SECURITY_ALARMS = {
    "security.card_rollback": "card_rollback",
    "security.uid_clone_suspected": "uid_clone",
    "security.card_rejected": "card_rejected",
}


def apply_event(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    if event.type == "redemption":
        return _redemption(conn, event, now)
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
    rows = conn.execute(sa.select(t.lots).where(t.lots.c.member_id == member_id, t.lots.c.points_left > 0)).all()
    lots = [Lot(r.lot_id, int(r.points_left), r.earned_at, r.expires_at) for r in rows]
    plan = spend_oldest_first(lots, points, event.created_at)
    for allocation in plan.allocations:
        conn.execute(
            t.lots.update()
            .where(t.lots.c.lot_id == allocation.lot_id)
            .values(points_left=t.lots.c.points_left - allocation.points)
        )
    rules_version = _int(p, "rules_version") or 0
    if plan.shortfall:
        conn.execute(
            t.members.update()
            .where(t.members.c.member_id == member_id)
            .values(overdraft_points=t.members.c.overdraft_points + plan.shortfall, updated_at=now)
        )
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
        store_id=_device_store(conn, event.device_id), payload=p, points=points, issued_at=event.created_at,
        expires_at=_time(p.get("expires_at")), event_id=event.event_id, now=now,
    )  # fmt: skip
    _move_card_counter(conn, event, member_id, voucher_id, now)
    record_change(conn, member_id, now, event.event_id)
    return "overdraft" if plan.shortfall else "applied"


def _device_store(conn: Connection, device_id: str) -> str | None:
    """The kiosk's store: from its registered voucher key, else from its last status."""
    found = conn.execute(
        sa.select(t.voucher_keys.c.store_id).where(t.voucher_keys.c.device_id == device_id).limit(1)
    ).scalar()
    if found is None:
        found = conn.execute(sa.select(t.devices.c.store_id).where(t.devices.c.device_id == device_id)).scalar()
    return found


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
