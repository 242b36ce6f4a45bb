"""A kiosk's `wheel_spin` event (幸运大转盘) at HQ: validated field by field, applied exactly once.

**Validation.** `parse_spin` reads the payload kiosk/ledger/wheel.py writes (docs/mqtt.md) and
refuses, naming the field, anything else: unknown or missing keys, ids beyond their columns, a
day that is not YYYY-MM-DD, counts that are not JSON integers within the rules' bounds, weights
that are not 1 to 12 distinct prizes, a prize not among the weights, a voucher whose code does not
decode to its own id, reward and value. A refused spin is stored as its kiosk event with outcome
`malformed` and a `bad_event` alarm saying why, as reconciliation does for other events; so is a
spin under a rules version HQ never published with a wheel (no honest kiosk has one).

**Applying** (inside the transaction that stores the event, under the member's row lock; the
`wheel_spins` key on the event id makes a replay a no-op):

- the cost is debited from the member's lots oldest first as of the spin, like a redemption's;
  what HQ cannot cover (offline spins at two kiosks against the same points) becomes overdraft
  with an `overdraft` alarm; entry kind `wheel`, negative;
- a points prize is credited as a new lot (the programme's `earning.lot_validity_days`, the
  spin's rules version recorded), repaying an overdraft first; entry kind `wheel`, positive. The
  points are the rules' for that prize, not the kiosk's claim;
- a voucher prize enters the voucher registry exactly as a redemption's voucher does (cost 0,
  reward id `wheel:<prize_id>`), so a till can write it off;
- free spins are counted per member and store day fleet-wide (`members.wheel_day`,
  `wheel_free_used`, sent to kiosks in member updates). A free spin beyond the rules'
  `free_spins_per_day` (two kiosks offline at once) is accepted, since the member saw the prize,
  and kept with `duplicate_free` set and outcome `duplicate_free`; the audit counts them;
- a spin that disagrees with the rules (weights, prize, cost) or whose prize does not follow
  from its own draw (kiosk.ledger.wheel.pick) is applied as above and flagged: `mismatch` in its
  row, outcome `mismatch`, a `wheel_mismatch` alarm for the kiosk.

Every applied spin queues the member for the next update with its event id, so the kiosk stops
counting its local cost and lot once HQ's state has them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.event_fields import (
    ID_MAX,
    MEMBER_ID_MAX,
    VERSION_MAX,
    BadPayload,
    SignedVoucher,
    flag,
    integer,
    keys,
    signed_voucher,
    text,
)
from hq.service.feedback import record_change
from hq.service.listener_store import raise_alarm
from hq.service.point_lots import credit_lot, debit_oldest_first
from hq.service.programs import program_of
from hq.service.voucher_keys import device_store
from hq.service.vouchers import register_from_event
from hq.store import tables as t
from hq.store.upsert import insert_ignore
from kiosk.ledger.rules import PRIZE_KINDS, WHEEL_REWARD_PREFIX, Wheel
from kiosk.ledger.wheel import DRAW_BOUND, pick
from sync.schemas import EventMessage

#: The rules' bound on a spin's cost and a prize's points (kiosk.ledger.rules).
POINTS_MAX = 100_000
#: The rules' bounds on a prize's weight and the wheel's segments (kiosk.ledger.rules).
WEIGHT_MAX = 1_000_000
SEGMENTS_MAX = 12
#: A prize id fits the voucher's reward id, "wheel:<prize_id>", in 64 bytes.
PRIZE_ID_MAX = 64 - len(WHEEL_REWARD_PREFIX)
_LOT_ID_MAX = 200
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_REQUIRED = frozenset(
    {
        "device_id", "spin_id", "member_id", "day", "free", "cost_points", "lots", "draw", "weights", "prize_id",
        "prize_kind", "points", "rules_version", "offline",
    }
)  # fmt: skip


class BadSpin(BadPayload):
    """A `wheel_spin` payload HQ refuses; the message names the field."""


@dataclass(frozen=True)
class Spin:
    """A validated `wheel_spin` payload."""

    device_id: str
    spin_id: str
    member_id: str
    day: dt.date
    free: bool
    cost_points: int
    lots: tuple[tuple[str, int], ...]  # the kiosk's allocation of the cost (HQ takes its own)
    draw: int
    weights: tuple[tuple[str, int], ...]
    prize_id: str
    prize_kind: str
    points: int
    rules_version: int
    offline: bool
    voucher: SignedVoucher | None


# --- validation ----------------------------------------------------------------------------------


def _day(value: Any) -> dt.date:
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise BadSpin(f"day: must be a store day as YYYY-MM-DD, got {value!r:.80}")


def _pairs(value: Any, name: str, longest: int, highest: int, most: int) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or len(value) > most:
        raise BadSpin(f"{name}: must be a list of at most {most} [id, number] pairs")
    pairs = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise BadSpin(f"{name}[{i}]: must be an [id, number] pair, got {pair!r:.80}")
        pairs.append((text(pair[0], f"{name}[{i}][0]", longest), integer(pair[1], f"{name}[{i}][1]", 1, highest)))
    return tuple(pairs)


def parse_spin(payload: Mapping[str, Any], device_id: str) -> Spin:
    """The spin in `payload` (of an event from `device_id`); BadSpin naming the field otherwise."""
    p = keys(payload, "payload", _REQUIRED, frozenset({"voucher"}))
    if p["device_id"] != device_id:
        raise BadSpin(f"device_id: {p['device_id']!r:.80} is not the sending kiosk {device_id!r}")
    free = flag(p["free"], "free")
    cost = integer(p["cost_points"], "cost_points", 0, 0 if free else POINTS_MAX)
    lots = _pairs(p["lots"], "lots", _LOT_ID_MAX, POINTS_MAX, max(cost, 0))
    if sum(points for _, points in lots) != cost:
        raise BadSpin(f"lots: must allocate the cost of {cost} points, allocate {sum(n for _, n in lots)}")
    weights = _pairs(p["weights"], "weights", PRIZE_ID_MAX, WEIGHT_MAX, SEGMENTS_MAX)
    ids = [prize for prize, _ in weights]
    if not weights or len(set(ids)) != len(ids):
        raise BadSpin("weights: must name 1 to 12 distinct prizes")
    prize_id = text(p["prize_id"], "prize_id", PRIZE_ID_MAX)
    if prize_id not in ids:
        raise BadSpin(f"prize_id: {prize_id!r} is not among the weights the draw was taken over")
    kind = p["prize_kind"]
    if kind not in PRIZE_KINDS:
        raise BadSpin(f"prize_kind: must be one of {', '.join(PRIZE_KINDS)}, got {kind!r:.80}")
    points = integer(p["points"], "points", 1 if kind == "points" else 0, POINTS_MAX if kind == "points" else 0)
    if (kind == "voucher") != ("voucher" in p):
        raise BadSpin("voucher: is required for a voucher prize and only then")
    return Spin(
        device_id=device_id,
        spin_id=text(p["spin_id"], "spin_id", ID_MAX),
        member_id=text(p["member_id"], "member_id", MEMBER_ID_MAX),
        day=_day(p["day"]),
        free=free,
        cost_points=cost,
        lots=lots,
        draw=integer(p["draw"], "draw", 0, DRAW_BOUND - 1),
        weights=weights,
        prize_id=prize_id,
        prize_kind=kind,
        points=points,
        rules_version=integer(p["rules_version"], "rules_version", 1, VERSION_MAX),
        offline=flag(p["offline"], "offline"),
        voucher=signed_voucher(p["voucher"], device_id, WHEEL_REWARD_PREFIX + prize_id) if kind == "voucher" else None,
    )


def rules_weights(wheel: Wheel) -> list[tuple[str, int]]:
    return [(p.prize_id, p.weight) for p in wheel.prizes]


def weights_follow_rules(weights: Sequence[tuple[str, int]], wheel: Wheel) -> bool:
    """Whether `weights` are the wheel's prizes with the rules' weights, in the rules' order, some
    perhaps left out (out of this kiosk's stock)."""
    rules = iter(rules_weights(wheel))
    return all(any(pair == tuple(segment) for pair in rules) for segment in weights)


def mismatches(spin: Spin, wheel: Wheel) -> list[str]:
    """What in the spin disagrees with the wheel of its rules version or with its own draw."""
    found = []
    if not weights_follow_rules(spin.weights, wheel):
        found.append(
            f"weights {list(map(list, spin.weights))} are not the rules' {list(map(list, rules_weights(wheel)))}"
        )
    drawn = spin.weights[pick(spin.draw, spin.weights)][0]
    if drawn != spin.prize_id:
        found.append(f"the draw picks {drawn!r}, the kiosk gave {spin.prize_id!r}")
    prize = wheel.prize(spin.prize_id)
    if prize is None:
        found.append(f"prize {spin.prize_id!r} is not on the wheel")
    elif (prize.kind, prize.points) != (spin.prize_kind, spin.points):
        found.append(
            f"prize {prize.prize_id!r} is {prize.kind} {prize.points}, the kiosk says {spin.prize_kind} {spin.points}"
        )
    elif spin.voucher is not None and spin.voucher.value_fen != prize.value_fen:
        found.append(f"voucher value {spin.voucher.value_fen} fen, the rules say {prize.value_fen}")
    if not spin.free and spin.cost_points != wheel.spin_cost_points:
        found.append(f"a paid spin cost {spin.cost_points} points, the rules say {wheel.spin_cost_points}")
    return found


# --- applying ------------------------------------------------------------------------------------


def _refuse(conn: Connection, event: EventMessage, why: str, now: dt.datetime) -> str:
    raise_alarm(conn, "bad_event", f"{event.device_id}/{event.seq}", f"wheel_spin refused: {why}"[:500], now)
    return "malformed"


def _free_spins(conn: Connection, member_id: str, day: dt.date) -> int:
    s = t.wheel_spins.c
    found = conn.execute(
        sa.select(sa.func.count()).where(s.member_id == member_id, s.day == day.isoformat(), s.free.is_(True))
    ).scalar_one()
    return int(found)


def apply_spin(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    """Apply a new `wheel_spin` event; returns its outcome: applied | overdraft | duplicate_free |
    mismatch | duplicate (this event id was applied before) | malformed | unknown_member."""
    try:
        spin = parse_spin(event.payload, event.device_id)
    except BadPayload as exc:
        return _refuse(conn, event, str(exc), now)
    m = t.members.c
    member = conn.execute(sa.select(t.members).where(m.member_id == spin.member_id).with_for_update()).first()
    if member is None:
        raise_alarm(conn, "unknown_member", spin.member_id, f"wheel spin {spin.spin_id} from {event.device_id}", now)
        return "unknown_member"
    program = program_of(conn, spin.rules_version)
    wheel = program.rules.wheel if program is not None else None
    if program is None or wheel is None:
        return _refuse(conn, event, f"rules_version {spin.rules_version} is no programme of HQ's with a wheel", now)
    problems = mismatches(spin, wheel)
    prize = wheel.prize(spin.prize_id)
    honest_points = prize is not None and prize.kind == spin.prize_kind == "points"
    won = prize.points if prize is not None and honest_points else 0
    free_before = _free_spins(conn, spin.member_id, spin.day)
    duplicate_free = spin.free and free_before >= wheel.free_spins_per_day
    mismatch = "; ".join(problems)[:500] or None
    if not insert_ignore(
        conn,
        t.wheel_spins,
        {
            "event_id": event.event_id, "device_id": spin.device_id, "spin_id": spin.spin_id,
            "member_id": spin.member_id, "day": spin.day.isoformat(), "free": spin.free,
            "duplicate_free": duplicate_free, "cost": spin.cost_points, "draw": spin.draw,
            "weights": [list(pair) for pair in spin.weights], "prize_id": spin.prize_id,
            "prize_kind": spin.prize_kind, "points": won,
            "voucher_id": spin.voucher.voucher_id if spin.voucher else None, "rules_version": spin.rules_version,
            "offline": spin.offline, "mismatch": mismatch, "at": event.created_at,
        },
    ):  # fmt: skip
        return "duplicate"
    detail = {"device_id": spin.device_id, "event_id": event.event_id, "spin_id": spin.spin_id,
              "prize_id": spin.prize_id, "free": spin.free, "offline": spin.offline}  # fmt: skip
    ref = f"wheel:{event.event_id}"
    shortfall = 0
    if spin.cost_points:
        plan = debit_oldest_first(conn, spin.member_id, spin.cost_points, event.created_at, now)
        shortfall = plan.shortfall
        conn.execute(
            t.entries.insert().values(
                member_id=spin.member_id, kind="wheel", points_delta=-plan.covered, overdraft_delta=plan.shortfall,
                ref=ref, rules_version=spin.rules_version, at=event.created_at,
                detail=detail | {"lots": [[a.lot_id, a.points] for a in plan.allocations],
                                 "kiosk_lots": [list(pair) for pair in spin.lots]},
            )
        )  # fmt: skip
        if shortfall:
            raise_alarm(
                conn, "overdraft", spin.member_id,
                f"wheel spin {spin.spin_id} at {spin.device_id} ({'offline' if spin.offline else 'online'}) "
                f"cost {spin.cost_points} points, {shortfall} beyond what HQ holds",
                now,
            )  # fmt: skip
    if won:
        lot_id = f"WH-{event.event_id}"
        settlement = credit_lot(
            conn, spin.member_id, lot_id, won, at=event.created_at, program=program, source=event.event_id, now=now
        )
        conn.execute(
            t.entries.insert().values(
                member_id=spin.member_id, kind="wheel", points_delta=settlement.to_lot,
                overdraft_delta=-settlement.repaid, lot_id=lot_id if settlement.to_lot else None, ref=ref,
                rules_version=program.version, at=event.created_at, detail=detail,
            )
        )  # fmt: skip
    if spin.voucher is not None:
        v = spin.voucher
        register_from_event(
            conn, voucher_id=v.voucher_id, member_id=spin.member_id, device_id=spin.device_id,
            store_id=device_store(conn, spin.device_id),
            payload=v.registry_payload(),
            points=0, issued_at=v.issued_at, expires_at=v.expires_at, event_id=event.event_id, now=now,
        )  # fmt: skip
    if spin.free and (member.wheel_day is None or spin.day.isoformat() >= member.wheel_day):
        # A late free spin (an offline kiosk's, of an earlier day) leaves the latest day as it is.
        conn.execute(
            t.members.update()
            .where(m.member_id == spin.member_id)
            .values(wheel_day=spin.day.isoformat(), wheel_free_used=free_before + 1, updated_at=now)
        )
    if mismatch:
        raise_alarm(
            conn, "wheel_mismatch", spin.device_id, f"spin {spin.spin_id} ({event.event_id}): {mismatch}"[:500], now
        )
    record_change(conn, spin.member_id, now, event.event_id)
    if mismatch:
        return "mismatch"
    if duplicate_free:
        return "duplicate_free"
    return "overdraft" if shortfall else "applied"
