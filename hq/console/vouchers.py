"""The console's voucher lookup: by voucher id, short code (as a cashier would read it out) or
member; with the state the clock implies and the voucher's full history. Reversing and cancelling
are hq.service.vouchers' own `reverse` and `cancel`, called by hq.api.console_routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import NotFound
from hq.store import tables as t
from kiosk.ledger.vouchers import normalise_short_code


def find(conn: Connection, query: str, limit: int = 50) -> list[dict[str, Any]]:
    query = query.strip()
    if not query:
        return []
    v = t.vouchers.c
    conditions = [v.voucher_id == query, v.member_id == query]
    conditions.append(v.short_code == normalise_short_code(query))
    rows = conn.execute(sa.select(t.vouchers).where(sa.or_(*conditions)).order_by(v.issued_at.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def detail(conn: Connection, voucher_id: str, now: dt.datetime) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """The voucher's row, its state now (an issued voucher past its expiry reads `expired`), its history."""
    row = conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher_id)).first()
    if row is None:
        raise NotFound(f"no voucher {voucher_id}")
    h = t.voucher_history.c
    history = [
        dict(r._mapping)
        for r in conn.execute(sa.select(t.voucher_history).where(h.voucher_id == voucher_id).order_by(h.history_id))
    ]
    return dict(row._mapping), state_now(row, now), history


def state_now(row: Any, now: dt.datetime) -> str:
    """As hq.service.vouchers judges it: an unused voucher past its expiry is expired."""
    if row.state in ("issued", "reversed") and row.expires_at is not None and now >= row.expires_at:
        return "expired"
    return str(row.state)
