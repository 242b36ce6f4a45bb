"""A till reporting purchases to HQ (`kiosk-till simulate-purchases`): the demo's and a test bench's
till, over the same HTTP API and with the same till token a POS would use.

Each purchase has an idempotency key made once (`<till>-<run>-<n>`) and resent unchanged after any
failure until HQ answers, so a purchase is earned once however often the network or HQ fails: what
a real till must do. Amounts and members are drawn from a seeded generator, so a run can be repeated.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tillagent.errors import HqUnreachable
from tillagent.hq_client import Answer, HqClient


@dataclass(frozen=True)
class Reported:
    """HQ's answer to one purchase."""

    idempotency_key: str
    member_id: str
    amount_fen: int
    status: int
    points: int | None
    tier: str | None
    error: str | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)


@dataclass(frozen=True)
class PurchasePlan:
    members: Sequence[str]
    count: int
    min_fen: int = 1_000
    max_fen: int = 50_000
    per_s: float = 1.0
    seed: int = 1
    run_id: str = "sim"


class PurchaseSimulator:
    def __init__(
        self,
        hq: HqClient,
        *,
        till_id: str,
        store_id: str,
        clock: Callable[[], dt.datetime],
        sleep: Callable[[float], None] = time.sleep,
        give_up_s: float = 300.0,
    ) -> None:
        self._hq, self._till, self._store = hq, till_id, store_id
        self._clock, self._sleep, self._give_up = clock, sleep, give_up_s

    def run(self, plan: PurchasePlan) -> Iterator[Reported]:
        if not plan.members:
            raise ValueError("name at least one member")
        if not 0 < plan.min_fen <= plan.max_fen:
            raise ValueError("amounts must satisfy 0 < min_fen <= max_fen")
        rng = random.Random(plan.seed)
        for n in range(1, plan.count + 1):
            member = rng.choice(list(plan.members))
            amount = rng.randint(plan.min_fen, plan.max_fen)
            yield self.report(f"{self._till}-{plan.run_id}-{n}", member, amount, order_no=f"{plan.run_id}-{n}")
            if n < plan.count and plan.per_s > 0:
                self._sleep(1.0 / plan.per_s)

    def report(self, key: str, member_id: str, amount_fen: int, *, order_no: str) -> Reported:
        """One purchase, resent with the same key and body until HQ answers."""
        body = {
            "idempotency_key": key, "store_id": self._store, "till_id": self._till, "order_no": order_no,
            "member_id": member_id, "amount_fen": amount_fen, "at": self._clock().isoformat(), "paid_with": "card",
        }  # fmt: skip
        deadline = time.monotonic() + self._give_up
        attempts = 0
        while True:
            attempts += 1
            try:
                answer = self._hq.purchase(body)
            except HqUnreachable:
                if time.monotonic() > deadline:
                    raise
                self._sleep(min(0.2 * attempts, 5.0))
                continue
            return _reported(key, member_id, amount_fen, answer, attempts)


def _reported(key: str, member_id: str, amount_fen: int, answer: Answer, attempts: int) -> Reported:
    points = answer.body.get("points")
    tier = answer.body.get("tier")
    return Reported(
        idempotency_key=key, member_id=member_id, amount_fen=amount_fen, status=answer.status,
        points=points if isinstance(points, int) else None, tier=tier if isinstance(tier, str) else None,
        error=None if answer.ok else f"{answer.error}: {answer.message}", attempts=attempts,
    )  # fmt: skip
