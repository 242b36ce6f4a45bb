"""The console's fleet view: every kiosk HQ has heard of, from what HQ already stores.

- online/offline: `devices.state`, written by HqListener from the kiosk's retained `status` topic,
  which the broker overwrites with the kiosk's last will (`offline`) when its link dies;
- last seen: the latest of its status, its telemetry and its last event's arrival;
- software, reader health, outbox depth: its retained telemetry (`devices.telemetry`: `extra.software`,
  `reader.state`, `outbox_depth`);
- sequence gaps: the highest `seq` HQ holds minus the number of its events (what
  `HqListener` checks too), one grouped query for the fleet;
- offline redemptions: redemptions the kiosk made offline that reached HQ in the last day (the
  ones still in a kiosk's outbox are inside its outbox depth: the kiosk reports no finer count);
- security events: `security.*` events of the last 7 days.

Reads only; store staff see the whole fleet too (reading is everyone's), filtered by store on request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.store import tables as t

SECURITY_WINDOW = dt.timedelta(days=7)
OFFLINE_WINDOW = dt.timedelta(days=1)


@dataclass(frozen=True)
class KioskRow:
    device_id: str
    store_id: str | None
    state: str  # online | offline | unknown
    last_seen: dt.datetime | None
    software: str | None
    reader: str | None
    outbox_depth: int | None
    rules_version: int | None
    gaps: int
    offline_redemptions: int
    security_events: int


@dataclass(frozen=True)
class EventRow:
    device_id: str
    seq: int
    type: str
    member_id: str | None
    outcome: str
    offline: bool
    created_at: dt.datetime
    received_at: dt.datetime


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


def _dig(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def kiosks(conn: Connection, now: dt.datetime, store_id: str | None = None) -> list[KioskRow]:
    e = t.kiosk_events.c
    per_device = (
        sa.select(
            e.device_id,
            sa.func.max(e.seq).label("high"),
            sa.func.count().label("n"),
            sa.func.max(e.received_at).label("last_event"),
            sa.func.sum(
                sa.case((sa.and_(e.type.like("security.%"), e.created_at >= now - SECURITY_WINDOW), 1), else_=0)
            ).label("security"),
            sa.func.sum(
                sa.case(
                    (sa.and_(e.type == "redemption", e.offline.is_(True), e.received_at >= now - OFFLINE_WINDOW), 1),
                    else_=0,
                )
            ).label("offline_redemptions"),
        )
        .group_by(e.device_id)
        .subquery()
    )
    stats = {row.device_id: row for row in conn.execute(sa.select(per_device))}
    devices = {row.device_id: row for row in conn.execute(sa.select(t.devices))}
    rows = []
    for device_id in sorted(set(stats) | set(devices)):
        dev, st = devices.get(device_id), stats.get(device_id)
        telemetry = dev.telemetry if dev is not None else None
        depth = _dig(telemetry, "outbox_depth")
        rules = _dig(telemetry, "rules_version")
        row = KioskRow(
            device_id=device_id,
            store_id=dev.store_id if dev is not None else None,
            state=(dev.state if dev is not None and dev.state else "unknown"),
            last_seen=_latest(
                dev.status_at if dev is not None else None,
                dev.telemetry_at if dev is not None else None,
                st.last_event if st is not None else None,
            ),
            software=_dig(telemetry, "extra", "software"),
            reader=_dig(telemetry, "reader", "state"),
            outbox_depth=depth if isinstance(depth, int) else None,
            rules_version=rules if isinstance(rules, int) else None,
            gaps=int(st.high) - int(st.n) if st is not None else 0,
            offline_redemptions=int(st.offline_redemptions or 0) if st is not None else 0,
            security_events=int(st.security or 0) if st is not None else 0,
        )
        if store_id is None or row.store_id == store_id:
            rows.append(row)
    return rows


def stores(conn: Connection) -> list[str]:
    d = t.devices.c
    return [
        s for (s,) in conn.execute(sa.select(d.store_id).where(d.store_id.is_not(None)).distinct().order_by(d.store_id))
    ]


def last_events(conn: Connection, store_id: str | None = None, limit: int = 30) -> list[EventRow]:
    """The newest kiosk events HQ received, newest first (optionally of one store's kiosks)."""
    e = t.kiosk_events.c
    query = sa.select(t.kiosk_events)
    if store_id is not None:
        query = query.where(e.device_id.in_(sa.select(t.devices.c.device_id).where(t.devices.c.store_id == store_id)))
    rows = conn.execute(query.order_by(e.received_at.desc(), e.device_id, e.seq.desc()).limit(limit))
    return [
        EventRow(r.device_id, int(r.seq), r.type, r.member_id, r.outcome, bool(r.offline), r.created_at, r.received_at)
        for r in rows
    ]
