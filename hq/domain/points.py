"""Points: earning on purchases, dated lots spent oldest first, expiry, refunds and overdraft.

Rounding, once and explicitly: every conversion from money to points is computed exactly (integer
arithmetic on the decimals' exact ratios, never float, never a Decimal context that could round
28 digits in) and then floored once, at the end. Floors favour the programme: a member never gets a
point that was not fully earned, and a refund never takes back more than the purchase gave.

Lots follow the kiosk's conventions (kiosk.ledger.points): a lot is live while `now < expires_at`;
spending takes from the lot that expires first, then the one earned first, then by lot id so the
plan is deterministic. A spend the lots cannot cover is never refused (kiosks redeem offline and HQ
must accept what they did): the rest is a `shortfall`, recorded as overdraft and repaid from the
member's next earnings (`settle_overdraft`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from hq.domain._checks import aware, count, decimal_factor
from hq.domain.errors import InvalidAmount
from hq.domain.program import Program


def earn_points(amount_fen: int, multiplier: Decimal, program: Program, *, member_day: Decimal | None = None) -> int:
    """Points for a purchase of `amount_fen`:
    floor(amount_fen / 100 x points_per_yuan x multiplier x member_day).

    `multiplier` is the tier multiplier the member had when paying (the tier whose discount the
    till applied, before any upgrade this purchase causes); `member_day` the rules' member-day
    multiplier when the purchase fell on member day (`member_day_multiplier`), None otherwise. The
    product is exact and floored once per purchase, not per yuan, line or factor: 99 fen earns 0 at
    1 point per yuan, 150 fen at x1.5 earns 2 (2.25), and at x1.5 on a x1.5 member day 3 (3.375).
    """
    count(amount_fen, "amount_fen")
    factor = Fraction(program.earning.points_per_yuan) * Fraction(decimal_factor(multiplier, "multiplier"))
    if member_day is not None:
        factor *= Fraction(decimal_factor(member_day, "member_day"))
    return math.floor(Fraction(amount_fen, 100) * factor)


def member_day_multiplier(program: Program, at: dt.datetime) -> Decimal | None:
    """The rules' member-day (会员日) points multiplier when `at` falls on member day, else None.

    The day is `at`'s calendar day in its own UTC offset: a till reports the sale with its store's
    offset (as for the stored-value limit of a top-up day), and HQ keeps no time zone per store.
    """
    day = program.rules.member_day
    if day is None or not day.includes(aware(at, "at").date()):
        return None
    return day.points_multiplier


def earn_growth(amount_fen: int, program: Program) -> int:
    """Growth points for a purchase: floor(amount_fen / 100 x growth_per_yuan); no tier multiplier."""
    count(amount_fen, "amount_fen")
    return math.floor(Fraction(amount_fen, 100) * Fraction(program.earning.growth_per_yuan))


def lot_expiry(earned_at: dt.datetime, program: Program) -> dt.datetime:
    """When a lot earned at `earned_at` lapses: `lot_validity_days` days later.

    Aware arithmetic keeps the wall-clock time in `earned_at`'s zone (the same local time of day).
    """
    return aware(earned_at, "earned_at") + dt.timedelta(days=program.earning.lot_validity_days)


@dataclass(frozen=True)
class Lot:
    """Points earned together, with what is left of them and when they lapse."""

    lot_id: str
    points_left: int
    earned_at: dt.datetime
    expires_at: dt.datetime

    def __post_init__(self) -> None:
        count(self.points_left, f"lot {self.lot_id}: points_left")
        aware(self.earned_at, f"lot {self.lot_id}: earned_at")
        aware(self.expires_at, f"lot {self.lot_id}: expires_at")

    def live(self, now: dt.datetime) -> bool:
        return now < self.expires_at


def new_lot(lot_id: str, points: int, earned_at: dt.datetime, program: Program) -> Lot:
    """A lot of freshly earned points, expiring per the programme."""
    return Lot(lot_id=lot_id, points_left=points, earned_at=earned_at, expires_at=lot_expiry(earned_at, program))


@dataclass(frozen=True)
class LotPoints:
    """`points` taken from (or lapsing in) the lot `lot_id`."""

    lot_id: str
    points: int


@dataclass(frozen=True)
class SpendPlan:
    """How a spend of `points` is covered: allocations per lot, oldest first, and the rest."""

    points: int
    allocations: tuple[LotPoints, ...]
    shortfall: int  # points no live lot covered: recorded as overdraft, never refused

    @property
    def covered(self) -> int:
        return sum(a.points for a in self.allocations)


def _by_age(lot: Lot) -> tuple[dt.datetime, dt.datetime, str]:
    return (lot.expires_at, lot.earned_at, lot.lot_id)


def spend_oldest_first(lots: Iterable[Lot], points: int, now: dt.datetime) -> SpendPlan:
    """Take `points` from the lots live at `now`, earliest expiry first (then earliest earned)."""
    count(points, "points")
    aware(now, "now")
    allocations = []
    wanted = points
    for lot in sorted((lot for lot in lots if lot.live(now) and lot.points_left > 0), key=_by_age):
        if wanted == 0:
            break
        take = min(wanted, lot.points_left)
        allocations.append(LotPoints(lot.lot_id, take))
        wanted -= take
    return SpendPlan(points=points, allocations=tuple(allocations), shortfall=wanted)


@dataclass(frozen=True)
class ExpiryPlan:
    """Lots that have lapsed at some instant, with the points they still held."""

    lapsed: tuple[LotPoints, ...]

    @property
    def points(self) -> int:
        return sum(lapse.points for lapse in self.lapsed)


def expire(lots: Iterable[Lot], now: dt.datetime) -> ExpiryPlan:
    """Lots whose expiry has come (`expires_at <= now`) and still hold points, oldest first."""
    aware(now, "now")
    lapsed = sorted((lot for lot in lots if not lot.live(now) and lot.points_left > 0), key=_by_age)
    return ExpiryPlan(lapsed=tuple(LotPoints(lot.lot_id, lot.points_left) for lot in lapsed))


def refund_points(original_points: int, original_amount_fen: int, refunded_fen: int, already_refunded_fen: int) -> int:
    """Points to reverse for a refund of `refunded_fen`, after `already_refunded_fen` was refunded.

    Proportional and cumulative: the reversal is what the refunds *so far* take back,
    floor(original_points x refunded_total / original_amount_fen), minus what the earlier refunds
    took. Because every step floors the running total, the sum of reversals never exceeds the
    points earned, and refunds adding up to the whole amount reverse exactly `original_points`,
    whatever their sizes. The same function reverses growth points.

    A refund beyond what is left of the purchase is an error (InvalidAmount), not clamped: a till
    asking for it has a bug or a forged request, and HQ should refuse it visibly.
    """
    count(original_points, "original_points")
    count(original_amount_fen, "original_amount_fen")
    count(refunded_fen, "refunded_fen")
    count(already_refunded_fen, "already_refunded_fen")
    total = already_refunded_fen + refunded_fen
    if total > original_amount_fen:
        raise InvalidAmount(
            f"refund of {refunded_fen} fen after {already_refunded_fen} fen exceeds the purchase of "
            f"{original_amount_fen} fen"
        )
    if original_amount_fen == 0:
        return 0
    return (
        original_points * total // original_amount_fen - original_points * already_refunded_fen // original_amount_fen
    )


@dataclass(frozen=True)
class OverdraftSettlement:
    """Newly earned points split between repaying an overdraft and a new lot."""

    repaid: int  # overdraft points these earnings cancel
    to_lot: int  # points left for the new lot
    overdraft_left: int


def settle_overdraft(overdraft_points: int, earned_points: int) -> OverdraftSettlement:
    """New earnings first repay the overdraft: the member has already spent those points."""
    count(overdraft_points, "overdraft_points")
    count(earned_points, "earned_points")
    repaid = min(overdraft_points, earned_points)
    return OverdraftSettlement(repaid=repaid, to_lot=earned_points - repaid, overdraft_left=overdraft_points - repaid)
