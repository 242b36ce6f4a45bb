"""The job the reader service runs on every presented card: verify it, then finish whatever
redemption it still owes. The app passes `tap_job(keys, ledger, faults)` as `read_job`.

Card I/O that fails before a verdict raises the driver's error (the service retries the whole
job, and nothing was recorded yet); the resumed card write never raises (its failure leaves the
redemption pending for the next tap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.cards.alerts import EventRateLimit
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.ports import CardRegistry, TagSession
from kiosk.cards.redeem_step import RedemptionConfirmed, RedemptionPending, resume_on_tap
from kiosk.cards.verify import Verdict, Verified, verify_tap


@dataclass(frozen=True)
class TapOutcome:
    verdict: Verdict
    resumed: RedemptionConfirmed | RedemptionPending | None = None  # a pending redemption's fate


def tap_job(
    keys: MasterKeys, registry: CardRegistry, faults: CardFaults, *, clone_alerts: EventRateLimit | None = None
) -> Callable[[TagSession], TapOutcome]:
    """The read job; `clone_alerts` (default: a new limit on the monotonic clock) is kept for every tap."""
    alerts = clone_alerts if clone_alerts is not None else EventRateLimit()

    def job(session: TagSession) -> TapOutcome:
        verdict = verify_tap(session, keys, registry, faults, clone_alerts=alerts)
        if isinstance(verdict, Verified) and verdict.pending is not None:
            return TapOutcome(verdict, resume_on_tap(session, keys, faults, registry, verdict))
        return TapOutcome(verdict)

    return job
