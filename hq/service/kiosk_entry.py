"""What kiosks are told about a member: the entry format of kiosk/ledger/snapshot.py, read from HQ.

Lots carry what is *left* of them (HQ has already taken every spend it knows of), cards their
highest counter (so a kiosk refuses an image another kiosk has moved past), vouchers their state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.store import tables as t


def member_entries(conn: Connection, member_ids: Iterable[str], *, now_iso: str | None = None) -> list[dict[str, Any]]:
    """Kiosk entries for `member_ids` (members that no longer exist come back `deleted`)."""
    ids = sorted(set(member_ids))
    if not ids:
        return []
    rows = {r.member_id: r for r in conn.execute(sa.select(t.members).where(t.members.c.member_id.in_(ids)))}
    lots: dict[str, list[dict[str, Any]]] = {}
    for lot in conn.execute(
        sa.select(t.lots)
        .where(t.lots.c.member_id.in_(ids), t.lots.c.points_left > 0)
        .order_by(t.lots.c.expires_at, t.lots.c.earned_at, t.lots.c.lot_id)
    ):
        lots.setdefault(lot.member_id, []).append(
            {
                "lot_id": lot.lot_id,
                "points": int(lot.points_left),
                "earned_at": lot.earned_at.isoformat(),
                "expires_at": lot.expires_at.isoformat(),
            }
        )
    cards: dict[str, list[dict[str, Any]]] = {}
    for card in conn.execute(sa.select(t.cards).where(t.cards.c.member_id.in_(ids)).order_by(t.cards.c.uid)):
        cards.setdefault(card.member_id, []).append(
            {
                "uid": card.uid,
                "issue_no": int(card.issue_no),
                "status": card.status,
                "last_counter": int(card.last_counter),
            }
        )
    vouchers: dict[str, list[dict[str, Any]]] = {}
    v = t.vouchers.c
    for voucher in conn.execute(
        sa.select(v.member_id, v.voucher_id, v.state, v.state_at, v.used_store, v.used_till, v.store_id)
        .where(v.member_id.in_(ids), v.state != "issued")
        .order_by(v.voucher_id)
    ):
        used = voucher.state == "used"
        place = {
            "at": voucher.state_at.isoformat() if voucher.state_at else None,
            "store_id": voucher.used_store if used else None,
            "till_id": voucher.used_till if used else None,
        }
        vouchers.setdefault(voucher.member_id, []).append(
            {"voucher_id": voucher.voucher_id, "state": voucher.state}
            | {name: value for name, value in place.items() if value is not None}
        )
    entries: list[dict[str, Any]] = []
    for member_id in ids:
        row = rows.get(member_id)
        if row is None:
            entries.append({"member_id": member_id, "deleted": True})
            continue
        entries.append(
            {
                "member_id": member_id,
                "name": row.name,
                "birthday": row.birthday,
                "balance_fen": int(row.balance_fen),
                "spend_fen": int(row.period_spend_fen),
                "growth_points": int(row.period_growth),
                "tier_floor": row.tier,
                "tier_override": row.tier_override,
                "cards": cards.get(member_id, []),
                "lots": lots.get(member_id, []),
                "vouchers": vouchers.get(member_id, []),
            }
        )
    return entries
