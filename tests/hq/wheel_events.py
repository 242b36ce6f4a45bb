"""`wheel_spin` events as kiosk/ledger/wheel.py writes them, for HQ's wheel tests: `spin_event`
builds one (its prize from the draw unless told otherwise, a signed voucher for a voucher prize),
`record` stores events through HQ's real listener store and reconciliation.

The supermarket programme's wheel (hq.domain.examples), weights out of 100 in order: thanks 55,
pts-10 30, eggs 12 (a voucher, stock 30 a kiosk), off-20 3 (a voucher, stock 5): `draw % 100`
picks the segment.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hq.domain.examples import supermarket_program
from hq.service.listener_store import SqlListenerStore
from hq.service.reconcile import apply_event
from kiosk.ledger.rules import Wheel, parse_rules
from kiosk.ledger.vouchers import encode_voucher_code, voucher_id
from kiosk.ledger.wheel import event_id_for, pick
from sync.schemas import EventMessage

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
_wheel = parse_rules(1, supermarket_program()["kiosk"]).wheel
assert _wheel is not None
WHEEL: Wheel = _wheel
WEIGHTS = [(p.prize_id, p.weight) for p in WHEEL.prizes]
THANKS, PTS_10, EGGS, OFF_20 = 0, 55, 85, 97  # draws that pick each prize
KIOSK_KEYS: dict[str, Ed25519PrivateKey] = {}
_seqs: dict[str, itertools.count[int]] = {}
_serials = itertools.count(1)


def kiosk_key(device: str) -> Ed25519PrivateKey:
    return KIOSK_KEYS.setdefault(device, Ed25519PrivateKey.generate())


def spin_event(
    *,
    device: str = "K001",
    member: str = "M1",
    day: dt.date | None = None,
    free: bool = True,
    cost: int | None = None,
    draw: int = THANKS,
    weights: list[tuple[str, int]] | None = None,
    prize: str | None = None,
    points: int | None = None,
    rules_version: int = 1,
    offline: bool = False,
    at: dt.datetime | None = None,
    spin_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> EventMessage:
    """A kiosk's `wheel_spin` event; `changes` replace payload fields as they are (None removes one)."""
    weights = WEIGHTS if weights is None else weights
    prize_id = prize or weights[pick(draw, weights)][0]
    found = WHEEL.prize(prize_id)
    kind = found.kind if found is not None else "nothing"
    when = at or NOW
    spin_id = spin_id or f"spin-{next(_serials)}"
    seq = next(_seqs.setdefault(device, itertools.count(1)))
    payload: dict[str, Any] = {
        "device_id": device, "spin_id": spin_id, "member_id": member, "day": (day or when.date()).isoformat(),
        "free": free, "cost_points": 0 if free else (5 if cost is None else cost), "lots": [], "draw": draw,
        "weights": [[p, w] for p, w in weights], "prize_id": prize_id, "prize_kind": kind,
        "points": points if points is not None else (found.points if found is not None else 0),
        "rules_version": rules_version, "offline": offline,
    }  # fmt: skip
    if payload["cost_points"]:
        payload["lots"] = [["kiosk-lot", payload["cost_points"]]]
    if kind == "voucher" and found is not None:
        serial = next(_serials)
        expires = when + dt.timedelta(days=found.validity_days)
        code = encode_voucher_code(
            kiosk_key(device), device_id=device, serial=serial, issued_at=when, expires_at=expires,
            value_fen=found.value_fen, reward_id=found.reward_id,
        )  # fmt: skip
        payload["voucher"] = {
            "voucher_id": voucher_id(device, serial), "voucher_code": code, "reward_id": found.reward_id,
            "value_fen": found.value_fen, "issued_at": when.isoformat(), "expires_at": expires.isoformat(),
        }  # fmt: skip
    for key, value in (changes or {}).items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return EventMessage(device, seq, event_id_for(device, spin_id), "wheel_spin", when, offline, False, payload)


_received = itertools.count()


def record(engine: Engine, *events: EventMessage, received_at: dt.datetime | None = None) -> None:
    """Store events as HQ's listener does: each stored and reconciled in one transaction (each call
    a second after the last unless told, so `received_at` orders the calls)."""
    when = received_at or NOW + dt.timedelta(seconds=next(_received))
    SqlListenerStore(engine, apply_event).record_events(list(events), when)
