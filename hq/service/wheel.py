"""The prize wheel's audit (幸运大转盘): is the fleet's wheel fair, and did every kiosk keep its stock?

Every spin HQ applied is in `wheel_spins` with its draw and the weights it was taken over
(hq.service.wheel_spins). `audit` checks three things:

(a) **Each outcome follows from its draw.** The prize is recomputed with the kiosk's own
    `kiosk.ledger.wheel.pick(draw, weights)`; a spin whose recorded prize differs, or whose weights
    are not the rules version's (in the rules' order, prizes out of stock left out), is listed.
(b) **The outcomes follow the weights.** Per rules version, each prize's observed count is
    compared with its expected count, the sum over spins of weight / total of that spin's
    weights (stock changes the weights a kiosk draws over, so each spin has its own
    probabilities), by Pearson's chi-square with (prizes that could occur - 1) degrees of freedom
    and its p-value (hq.domain.chisquare). Draws are uniform below 2**63, so a fair fleet's
    p-value is uniform on [0, 1]: below `alpha` (0.001) one audit in a thousand by chance, and
    routinely for a kiosk that re-draws until it likes the outcome, which (a) cannot see.
(c) **No kiosk gave a prize beyond its stock.** Per device and rules version, the count of each
    prize against the version's `stock_per_kiosk`, over every spin of that version whenever made
    (`since` narrows (a) and (b) only, so a window never hides an excess).

Free spins beyond the day's allowance (two kiosks offline at once) are counted per version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.domain.chisquare import pearson
from hq.service.programs import program_of
from hq.service.wheel_spins import rules_weights, weights_follow_rules
from hq.store import tables as t
from kiosk.ledger.rules import Wheel
from kiosk.ledger.wheel import pick

#: A p-value below this fails the audit (the chance of a fair fleet failing it is `ALPHA`).
ALPHA = 0.001
#: The mismatches listed at most (the count is always whole).
MISMATCHES_LISTED = 1000


@dataclass(frozen=True)
class Mismatch:
    """A spin whose outcome does not follow from its draw, or whose weights are not the rules'."""

    event_id: str
    device_id: str
    rules_version: int
    at: str
    prize_id: str  # as the kiosk recorded it
    drawn: str  # what pick(draw, weights) gives
    reason: str


@dataclass(frozen=True)
class PrizeCount:
    prize_id: str
    observed: int
    expected: float


@dataclass(frozen=True)
class VersionFit:
    """The outcomes of one rules version against their weights."""

    rules_version: int
    spins: int
    duplicate_free: int
    prizes: tuple[PrizeCount, ...]
    chi_square: float | None  # None: fewer than two prizes could occur
    dof: int | None
    p_value: float | None
    fair: bool


@dataclass(frozen=True)
class StockExcess:
    device_id: str
    rules_version: int
    prize_id: str
    given: int
    stock: int


@dataclass(frozen=True)
class WheelAudit:
    since: str | None
    alpha: float
    spins: int
    mismatch_count: int
    mismatches: tuple[Mismatch, ...]
    versions: tuple[VersionFit, ...]
    stock_excess: tuple[StockExcess, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatch_count and not self.stock_excess and all(v.fair for v in self.versions)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


class _Wheels:
    """The wheel of each rules version, parsed once per audit."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._found: dict[int, Wheel | None] = {}

    def __call__(self, version: int) -> Wheel | None:
        if version not in self._found:
            program = program_of(self._conn, version)
            self._found[version] = program.rules.wheel if program is not None else None
        return self._found[version]


def _reason(prize_id: str, drawn: str, weights: list[tuple[str, int]], wheel: Wheel | None) -> str | None:
    reasons = []
    if drawn != prize_id:
        reasons.append(f"the draw picks {drawn!r}, the kiosk gave {prize_id!r}")
    if wheel is None:
        reasons.append("HQ has no wheel under this rules version")
    elif not weights_follow_rules(weights, wheel):
        reasons.append(f"weights {weights} are not the rules' {rules_weights(wheel)}")
    return "; ".join(reasons) or None


class _Tally:
    """One rules version's outcomes, summed as the spins stream past (memory per prize, not per spin)."""

    def __init__(self, wheel: Wheel | None) -> None:
        order = [p.prize_id for p in wheel.prizes] if wheel is not None else []
        self.spins = 0
        self.duplicate_free = 0
        self.observed: dict[str, int] = dict.fromkeys(order, 0)
        self.expected: dict[str, float] = dict.fromkeys(order, 0.0)

    def add(self, prize_id: str, weights: list[tuple[str, int]], duplicate_free: bool) -> None:
        total = sum(w for _, w in weights)
        for segment, weight in weights:
            self.expected[segment] = self.expected.get(segment, 0.0) + weight / total
        self.expected.setdefault(prize_id, 0.0)
        self.observed[prize_id] = self.observed.get(prize_id, 0) + 1
        self.spins += 1
        self.duplicate_free += int(duplicate_free)

    def fit(self, version: int, alpha: float) -> VersionFit:
        ids = list(self.expected)
        observed = [self.observed.get(i, 0) for i in ids]
        test = pearson(observed, [self.expected[i] for i in ids])
        return VersionFit(
            rules_version=version,
            spins=self.spins,
            duplicate_free=self.duplicate_free,
            prizes=tuple(PrizeCount(i, n, round(self.expected[i], 3)) for i, n in zip(ids, observed, strict=True)),
            chi_square=None if test is None else round(test.statistic, 3),
            dof=None if test is None else test.dof,
            p_value=None if test is None else test.p_value,
            fair=test is None or test.p_value >= alpha,
        )


def _stock(conn: Connection, versions: list[int], wheels: _Wheels) -> list[StockExcess]:
    s = t.wheel_spins.c
    given = conn.execute(
        sa.select(s.rules_version, s.device_id, s.prize_id, sa.func.count().label("n"))
        .where(s.rules_version.in_(versions))
        .group_by(s.rules_version, s.device_id, s.prize_id)
        .order_by(s.rules_version, s.device_id, s.prize_id)
    ).all()
    excess = []
    for row in given:
        wheel = wheels(int(row.rules_version))
        prize = wheel.prize(row.prize_id) if wheel is not None else None
        if prize is not None and prize.stock_per_kiosk is not None and int(row.n) > prize.stock_per_kiosk:
            excess.append(
                StockExcess(row.device_id, int(row.rules_version), row.prize_id, int(row.n), prize.stock_per_kiosk)
            )
    return excess


def audit(conn: Connection, *, since: dt.datetime | None = None, alpha: float = ALPHA) -> WheelAudit:
    """Audit the spins HQ applied (those at or after `since`, if given)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    s = t.wheel_spins.c
    query = sa.select(
        s.event_id, s.device_id, s.rules_version, s.at, s.draw, s.weights, s.prize_id, s.duplicate_free
    ).order_by(s.rules_version, s.at, s.event_id)
    # Streamed (a server-side cursor on PostgreSQL): memory grows with prizes and versions, not spins.
    query = query.execution_options(yield_per=2000)
    if since is not None:
        query = query.where(s.at >= since)
    wheels = _Wheels(conn)
    tallies: dict[int, _Tally] = {}
    mismatches: list[Mismatch] = []
    count = 0
    for row in conn.execute(query):
        version = int(row.rules_version)
        wheel = wheels(version)
        weights = [(str(p), int(w)) for p, w in row.weights]
        tallies.setdefault(version, _Tally(wheel)).add(row.prize_id, weights, bool(row.duplicate_free))
        drawn = weights[pick(int(row.draw), weights)][0]
        reason = _reason(row.prize_id, drawn, weights, wheel)
        if reason is not None:
            count += 1
            if len(mismatches) < MISMATCHES_LISTED:
                at = row.at.isoformat()
                mismatches.append(Mismatch(row.event_id, row.device_id, version, at, row.prize_id, drawn, reason))
    versions = sorted(tallies)
    return WheelAudit(
        since=since.isoformat() if since is not None else None,
        alpha=alpha,
        spins=sum(tally.spins for tally in tallies.values()),
        mismatch_count=count,
        mismatches=tuple(mismatches),
        versions=tuple(tallies[v].fit(v, alpha) for v in versions),
        stock_excess=tuple(_stock(conn, versions, wheels)) if versions else (),
    )
