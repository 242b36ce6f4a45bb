"""bench.hq's verdict: what the tills and kiosks were told, against what HQ holds and what each
kiosk's replica shows, once every outbox is drained and the last member update applied.

The definitions (the module docstring of bench.hq repeats them):

- lost_purchases: purchases acknowledged to a till (a 2xx answer; seed and profile purchases,
  committed through the service, count too) with no `purchases` row under their idempotency key
  at HQ, or whose row has no `earn` entry in HQ's event log.
- lost_redemptions: vouchers in a kiosk's ledger (any state but cancelled) with no `redemption`
  entry for that voucher id at HQ.
- duplicated_purchases: for every purchase id, `earn` entries beyond the first, plus lots beyond
  the first with it as their source.
- duplicated_redemptions: for every voucher id, `redemption` entries beyond the first, plus, for
  every kiosk event id, stored `kiosk_events` rows beyond the first.
- points_mismatch: members whose points are not the same in all of
  (a) HQ's event log: sum(points_delta) - sum(overdraft_delta) over the member's entries,
  (b) HQ's tables: sum(lots.points_left) - members.overdraft_points,
  (c) each kiosk's replica: `ledger.member_view(member).points` (a member missing counts as wrong),
  (d) the tally of what the tills and kiosks were told: points in the acknowledged answers minus
      800 per voucher in the kiosks' ledgers (a purchase a till never saw answered counts with
      the points HQ recorded for it, if HQ has it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.hq_kiosks import SimKiosk
from hq.store import tables as t


@dataclass
class Told:
    """What the tills and kiosks were told, gathered over a whole backend's run."""

    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (member, points)
    unacknowledged: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)  # error code -> count

    def add(self, key: str, member: str, points: int) -> None:
        self.acknowledged[key] = (member, points)


def _grouped(conn: sa.Connection, statement: sa.Select[Any]) -> dict[Any, int]:
    return {key: int(value or 0) for key, value in conn.execute(statement)}


def _extra(counts: dict[Any, int]) -> int:
    """Rows beyond the first, summed over every key."""
    return sum(n - 1 for n in counts.values() if n > 1)


def audit(engine: Engine, told: Told, kiosks: list[SimKiosk], member_ids: Iterable[str]) -> dict[str, Any]:
    e, lots, members, purchases = t.entries.c, t.lots.c, t.members.c, t.purchases.c
    with engine.connect() as conn:
        by_key = {row.idempotency_key: (row.purchase_id, row.member_id, int(row.points))
                  for row in conn.execute(sa.select(purchases.idempotency_key, purchases.purchase_id,
                                                     purchases.member_id, purchases.points))}  # fmt: skip
        earns = _grouped(conn, sa.select(e.ref, sa.func.count()).where(e.kind == "earn").group_by(e.ref))
        lot_sources = _grouped(conn, sa.select(lots.source, sa.func.count()).group_by(lots.source))
        redemptions = _grouped(conn, sa.select(e.ref, sa.func.count()).where(e.kind == "redemption").group_by(e.ref))
        events = _grouped(
            conn, sa.select(t.kiosk_events.c.event_id, sa.func.count()).group_by(t.kiosk_events.c.event_id)
        )
        log_points = _grouped(
            conn, sa.select(e.member_id, sa.func.sum(e.points_delta - e.overdraft_delta)).group_by(e.member_id)
        )
        lot_points = _grouped(conn, sa.select(lots.member_id, sa.func.sum(lots.points_left)).group_by(lots.member_id))
        overdraft = _grouped(conn, sa.select(members.member_id, members.overdraft_points))
        alarms = _grouped(conn, sa.select(t.alarms.c.kind, sa.func.count()).group_by(t.alarms.c.kind))
    lost_purchases = [
        key for key in told.acknowledged if key not in by_key or earns.get(by_key[key][0], 0) == 0
    ]  # fmt: skip
    vouchers = [voucher for kiosk in kiosks for voucher in kiosk.ledger_vouchers()]
    lost_redemptions = [voucher for voucher, *_ in vouchers if redemptions.get(voucher, 0) == 0]
    duplicated_purchases = sum(n - 1 for n in earns.values() if n > 1) + sum(
        n - 1 for n in lot_sources.values() if n > 1
    )
    duplicated_redemptions = sum(n - 1 for n in redemptions.values() if n > 1) + sum(
        n - 1 for n in events.values() if n > 1
    )

    tally: Counter[str] = Counter()
    for member, points in told.acknowledged.values():
        tally[member] += points
    at_hq_unacknowledged = [key for key in told.unacknowledged if key in by_key]
    for key in at_hq_unacknowledged:
        tally[by_key[key][1]] += by_key[key][2]
    for _, member, cost, _ in vouchers:
        tally[member] -= cost
    acknowledged_keys = set(told.acknowledged) | told.unacknowledged
    unexpected = [key for key in by_key if key not in acknowledged_keys]

    mismatched = 0
    examples: dict[str, dict[str, Any]] = {}
    views: Counter[str] = Counter()
    for member in member_ids:
        a = log_points.get(member, 0)
        b = lot_points.get(member, 0) - overdraft.get(member, 0)
        c = {kiosk.device_id: kiosk.points(member) for kiosk in kiosks}
        d = tally.get(member, 0)
        wrong = [name for name, value in (("tables", b), ("tally", d)) if value != a]
        wrong += ["kiosk" for points in c.values() if points != a]
        if wrong:
            mismatched += 1
            views.update(set(wrong))
            if len(examples) < 5:
                examples[member] = {"log": a, "tables": b, "tally": d, "kiosks": c}
    return {
        "lost": len(lost_purchases) + len(lost_redemptions),
        "duplicated": duplicated_purchases + duplicated_redemptions,
        "points_mismatch": mismatched,
        "lost_purchases": len(lost_purchases),
        "lost_redemptions": len(lost_redemptions),
        "duplicated_purchases": duplicated_purchases,
        "duplicated_redemptions": duplicated_redemptions,
        "mismatch_by_view": dict(views),
        "mismatch_examples": examples,
        "lost_examples": (lost_purchases + lost_redemptions)[:5],
        "overdrawn_members": sum(1 for value in overdraft.values() if value),
        "hq_purchases": len(by_key),
        "hq_redemptions": sum(redemptions.values()),
        "kiosk_vouchers": len(vouchers),
        "kiosk_vouchers_offline": sum(1 for *_, offline in vouchers if offline),
        "acknowledged_purchases": len(told.acknowledged),
        "unacknowledged_purchases": len(told.unacknowledged),
        "unacknowledged_at_hq": len(at_hq_unacknowledged),
        "refused_purchases": dict(told.refused),
        "unexpected_purchases": len(unexpected),
        "hq_alarms": alarms,
    }
