"""The HQ service's side of `sync.hq.listener.HqListener`: kiosk events into HQ's database, each
stored once AND reconciled in the same transaction, so an ack (sent after the commit) promises
both. Two HQ processes in one share group may receive the same resent event; the key
(device_id, seq) lets exactly one of them insert it, and only the inserter applies its effects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hq.store import tables as t
from hq.store.upsert import insert_ignore, upsert
from sync.hq.ports import BatchResult
from sync.schemas import EventMessage, PushAck

#: Applies a new kiosk event's effects inside the storing transaction; returns its outcome
#: ("applied", "ignored", "flagged", ...). The service wires `hq.service.reconcile.apply_event`.
EventApplier = Callable[[Connection, EventMessage, dt.datetime], str]


_MEMBER_ID_MAX = 64  # kiosk_events.member_id (hq.store.tables)


def _member_of(event: EventMessage) -> str | None:
    """The event's member, when it names one that fits its column: a longer id names no member,
    and storing it would fail the whole batch on PostgreSQL (resent forever); the event's
    reconciliation refuses it instead."""
    member = event.payload.get("member_id")
    return member if isinstance(member, str) and 0 < len(member) <= _MEMBER_ID_MAX else None


class SqlListenerStore:
    def __init__(self, engine: Engine, apply_event: EventApplier) -> None:
        self._engine = engine
        self._apply = apply_event

    def close(self) -> None:
        """The engine belongs to the service; nothing of ours to close."""

    def record_events(self, events: Iterable[EventMessage], received_at: dt.datetime) -> BatchResult:
        result = BatchResult()
        # Members in one order in every HQ process: two listeners locking the same members in
        # different orders deadlock (PostgreSQL then aborts one batch). A member's own events keep
        # their order (the sort is stable), which is all reconciliation needs.
        ordered = sorted(events, key=lambda e: _member_of(e) or "")
        with self._engine.begin() as conn:
            for event in ordered:
                row = {
                    "device_id": event.device_id,
                    "seq": event.seq,
                    "event_id": event.event_id,
                    "type": event.type,
                    "created_at": event.created_at,
                    "offline": event.offline,
                    "payload": event.payload,
                    "member_id": _member_of(event),
                    "received_at": received_at,
                    "outcome": "pending",
                }
                if insert_ignore(conn, t.kiosk_events, row):
                    outcome = self._apply(conn, event, received_at)
                    conn.execute(
                        t.kiosk_events.update()
                        .where(t.kiosk_events.c.device_id == event.device_id, t.kiosk_events.c.seq == event.seq)
                        .values(outcome=outcome)
                    )
                    result.new.append(event)
                    continue
                stored = conn.execute(
                    sa.select(t.kiosk_events.c.event_id).where(
                        t.kiosk_events.c.device_id == event.device_id, t.kiosk_events.c.seq == event.seq
                    )
                ).scalar_one()
                if stored == event.event_id:
                    result.duplicates.append(event)
                else:
                    insert_ignore(
                        conn,
                        t.event_conflicts,
                        {
                            "device_id": event.device_id,
                            "seq": event.seq,
                            "event_id": event.event_id,
                            "body": event.to_json(),
                            "received_at": received_at,
                        },
                    )
                    result.conflicts.append(event)
        return result

    def record_push_ack(self, ack: PushAck, received_at: dt.datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                t.push_acks.insert().values(
                    device_id=ack.device_id,
                    type=ack.type,
                    version=ack.version,
                    status=ack.status,
                    reason=ack.reason,
                    detail=ack.detail,
                    topic=ack.topic,
                    at=ack.at,
                    received_at=received_at,
                )
            )

    def device_store(self, device_id: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(sa.select(t.devices.c.store_id).where(t.devices.c.device_id == device_id)).scalar()

    def record_status(self, device_id: str, store_id: str, state: str, at: dt.datetime) -> None:
        with self._engine.begin() as conn:
            upsert(
                conn,
                t.devices,
                {"device_id": device_id, "store_id": store_id, "state": state, "status_at": at},
                ["device_id"],
                ["store_id", "state", "status_at"],
            )

    def record_telemetry(self, device_id: str, body: dict[str, Any], at: dt.datetime) -> None:
        with self._engine.begin() as conn:
            upsert(
                conn,
                t.devices,
                {"device_id": device_id, "telemetry": body, "telemetry_at": at},
                ["device_id"],
                ["telemetry", "telemetry_at"],
            )

    def gaps(self, device_id: str) -> int:
        c = t.kiosk_events.c
        with self._engine.connect() as conn:
            highest, count = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(c.seq), 0), sa.func.count()).where(c.device_id == device_id)
            ).one()
        return int(highest) - int(count)

    def missing_seqs(self, device_id: str, limit: int = 10) -> list[tuple[int, int]]:
        c = t.kiosk_events.c
        previous = sa.func.lag(c.seq, 1, 0).over(order_by=c.seq).label("prev")
        inner = sa.select(c.seq, previous).where(c.device_id == device_id).subquery()
        query = (
            sa.select(inner.c.prev + 1, inner.c.seq - 1)
            .where(inner.c.seq > inner.c.prev + 1)
            .order_by(inner.c.seq)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [(int(a), int(b)) for a, b in conn.execute(query)]

    def raise_alarm(self, kind: str, device_id: str, detail: str, at: dt.datetime) -> bool:
        return raise_alarm(self._engine, kind, device_id, detail, at)

    def clear_alarm(self, kind: str, device_id: str, at: dt.datetime) -> bool:
        with self._engine.begin() as conn:
            done = conn.execute(
                t.alarms.update()
                .where(t.alarms.c.kind == kind, t.alarms.c.subject == device_id, t.alarms.c.cleared_at.is_(None))
                .values(cleared_at=at)
            )
        return done.rowcount > 0


def raise_alarm(engine_or_conn: Engine | Connection, kind: str, subject: str, detail: str, at: dt.datetime) -> bool:
    """Open an alarm unless one of this kind is open for `subject` (then refresh its detail)."""

    def _do(conn: Connection) -> bool:
        a = t.alarms.c
        open_id = conn.execute(
            sa.select(a.alarm_id).where(a.kind == kind, a.subject == subject, a.cleared_at.is_(None))
        ).scalar()
        if open_id is not None:
            conn.execute(t.alarms.update().where(a.alarm_id == open_id).values(detail=detail))
            return False
        conn.execute(t.alarms.insert().values(kind=kind, subject=subject, detail=detail, raised_at=at))
        return True

    if isinstance(engine_or_conn, Connection):
        return _do(engine_or_conn)
    with engine_or_conn.begin() as conn:
        return _do(conn)
