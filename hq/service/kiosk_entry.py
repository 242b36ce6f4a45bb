"""What kiosks are told about a member: the entry format of kiosk/ledger/snapshot.py, read from HQ.

Lots carry what is *left* of them (HQ has already taken every spend it knows of), cards their
highest counter (so a kiosk refuses an image another kiosk has moved past), vouchers their state,
`history` the member's last `HISTORY_ITEMS` point movements (积分明细), newest first, and
`checkin_last_day` / `checkin_streak` (每日签到) so a streak continues at any kiosk, and
`wheel_day` / `wheel_free_used` (幸运大转盘) so free spins are counted across the fleet, and
`birthday_gift_year` (生日礼) so a gift claimed at one kiosk is not given again at another.

The history is a window, not a ledger: every update carries it whole, so a kiosk that missed an
update still shows the right list, and its size stays bounded (90 to 150 bytes an item, under
2.5 KB a member; docs/mqtt.md has the arithmetic against the kiosks' 4 MiB limit).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.store import tables as t

#: How many point movements a member entry carries (the kiosk's 积分明细 shows these).
HISTORY_ITEMS = 20
#: Entry kinds that move points. `topup` moves stored value and `tier_change` the tier: neither
#: is a points movement, and a member reading 积分明细 would take a 0 for a mistake.
POINT_KINDS = ("earn", "refund", "redemption", "expire", "voucher_cancel", "checkin", "wheel")
#: Kinds whose `ref` is a purchase id, so the store is the purchase's.
_PURCHASE_KINDS = ("earn", "refund")


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
    history = member_history(conn, ids)
    pins = pin_fields(conn, ids)
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
                "history": history.get(member_id, []),
                # 每日签到: the fleet's streak, so the member's next kiosk continues it.
                "checkin_last_day": row.checkin_last_day,
                "checkin_streak": int(row.checkin_streak or 0),
                # 幸运大转盘: the free spins HQ counted on `wheel_day` across the fleet.
                "wheel_day": row.wheel_day,
                "wheel_free_used": int(row.wheel_free_used or 0),
                # 生日礼: the latest year HQ recorded a gift claim, at any kiosk (null: none).
                "birthday_gift_year": row.birthday_gift_year,
            }
            # The PIN's hash (never the PIN) and the lock, only where there is one (hq/service/pins.py).
            | pins.get(member_id, {})
        )
    return entries


def member_history(
    conn: Connection, member_ids: list[str], limit: int = HISTORY_ITEMS
) -> dict[str, list[dict[str, Any]]]:
    """Each member's last `limit` point movements from `entries`, newest first (by when they happened).

    `points` is the movement as the member sees it: `points_delta - overdraft_delta`, so a
    redemption HQ could only partly cover from lots still reads -800 (the rest is overdraft, owed
    points), and an earn that first repaid an overdraft still reads as everything earned. Where it
    happened: the purchase's store for earn and refund, the kiosk (device) for a redemption, whose
    voucher id also lets the kiosk recognise its own redemption and stop showing it as pending.
    """
    if not member_ids:
        return {}
    e, p = t.entries.c, t.purchases.c
    moved = (e.points_delta - e.overdraft_delta).label("points")
    # Ranked per member in SQL (a window function: SQLite >= 3.25 and PostgreSQL), so only `limit`
    # rows per member leave the database however many years of purchases lie behind them.
    ranked = (
        sa.select(
            e.member_id, e.kind, moved, e.at, e.ref, e.detail, p.store_id,
            sa.func.row_number().over(partition_by=e.member_id, order_by=(e.at.desc(), e.entry_id.desc())).label("n"),
        )
        .select_from(t.entries.outerjoin(t.purchases, sa.and_(p.purchase_id == e.ref, e.kind.in_(_PURCHASE_KINDS))))
        .where(e.member_id.in_(member_ids), e.kind.in_(POINT_KINDS), e.points_delta - e.overdraft_delta != 0)
        .subquery()
    )  # fmt: skip
    r = ranked.c
    out: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(sa.select(ranked).where(r.n <= limit).order_by(r.member_id, r.n)):
        item: dict[str, Any] = {"kind": row.kind, "points": int(row.points), "at": row.at.isoformat()}
        if row.store_id is not None:
            item["store_id"] = row.store_id
        if row.kind in ("redemption", "checkin", "wheel"):  # at a kiosk: say which one
            device = (row.detail or {}).get("device_id")
            if isinstance(device, str) and device:
                item["device_id"] = device
        if row.kind == "redemption":
            item["voucher_id"] = row.ref
        out.setdefault(row.member_id, []).append(item)
    return out


def pin_fields(conn: Connection, member_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The member-entry fields for kiosks: `pin_hash` where a PIN is set, `pin_locked` while locked
    (both left out otherwise, so kiosks from before PINs existed are not sent keys they refuse)."""
    if not member_ids:
        return {}
    p = t.member_pins.c
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(p.member_id, p.pin_hash, p.locked_at).where(p.member_id.in_(member_ids))):
        fields: dict[str, Any] = {}
        if row.pin_hash is not None:
            fields["pin_hash"] = row.pin_hash
        if row.locked_at is not None:
            fields["pin_locked"] = True
        if fields:
            out[row.member_id] = fields
    return out
