"""Replay and settling: bringing HQ up to date with what the till did while HQ was out of reach.

* A `pending_replay` write-off goes to HQ with `offline_at` (its acceptance time) and the request id
  it was journaled with. 201/200: confirmed. 409 `already_used`: someone used it first; the entry
  becomes `double_use_detected` and HQ raises the `offline_double_use` alarm itself. Any other
  refusal: `refused_at_replay`, with HQ's reason. A 409 `idempotency_conflict` means HQ holds the
  same request id for the *online* body this attempt sent before HQ went quiet: HQ wrote it off then;
  sending that body again fetches HQ's first answer, and the entry is confirmed.
* An `in_doubt` attempt (the POS was told "refused", but the request may have reached HQ) or a
  `sending` one a crash left behind is settled by asking HQ: if HQ wrote the voucher off at this till
  for that order, the agent reverses it (the sale went without it); otherwise HQ never had it.
  Only attempts older than `settle_after` are settled: a younger one may still be on its way.

Replay stops at the first sign that HQ is unreachable and leaves the rest for the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from tillagent.errors import HqUnreachable, TillAgentError
from tillagent.hq_client import Answer, HqClient
from tillagent.journal import Entry, Journal, State
from tillagent.outcomes import ReplayReport

_LOG = logging.getLogger(__name__)
_REVERSE_REASON = "till agent: HQ's answer was lost and the POS was told the voucher was refused"


class TokenRefused(TillAgentError):
    """HQ answered 401: the till's token is wrong or the till was disabled."""


def consume_body(entry: Entry, till_id: str, *, offline: bool) -> dict[str, Any]:
    """The request for `entry`, byte for byte the same on every retry (HQ digests it)."""
    body: dict[str, Any] = {"request_id": entry.request_id, "till_id": till_id, "order_no": entry.order_no}
    body["short_code" if entry.is_short else "code"] = entry.code
    if offline:
        body["offline_at"] = entry.accepted_at.isoformat()
    return body


def _checked(answer: Answer) -> Answer:
    if answer.status == 401:
        raise TokenRefused(f"HQ refused the till's token: {answer.message}")
    return answer


class Replayer:
    def __init__(
        self,
        journal: Journal,
        hq: HqClient,
        *,
        till_id: str,
        clock: Callable[[], dt.datetime],
        lock: threading.RLock,
        settle_after: dt.timedelta,
    ) -> None:
        self._journal = journal
        self._hq = hq
        self._till_id = till_id
        self._clock = clock
        self._lock = lock
        self._settle_after = settle_after

    def replay(self) -> ReplayReport:
        report = ReplayReport()
        try:
            for entry in self._journal.in_states(State.PENDING_REPLAY):
                self._count(report, self._one(entry, (State.PENDING_REPLAY,), self.replay_entry))
            for entry in self._journal.in_states(State.IN_DOUBT, State.SENDING):
                if self.settleable(entry):
                    self._count(report, self._one(entry, (State.IN_DOUBT, State.SENDING), self.settle_entry))
        except HqUnreachable as exc:
            report.stopped = exc.why
        except TokenRefused as exc:
            report.stopped = str(exc)
        report.still_pending = len(self._journal.in_states(State.PENDING_REPLAY))
        report.still_in_doubt = len(self._journal.in_states(State.IN_DOUBT, State.SENDING))
        if report.changed or report.stopped:
            _LOG.info("%s", report.line())
        return report

    def _one(self, entry: Entry, states: tuple[State, ...], act: Callable[[Entry], Entry]) -> Entry | None:
        # One entry at a time under the agent's lock: a consume may run between two of them.
        with self._lock:
            fresh = self._journal.get(entry.request_id)
            if fresh is None or fresh.state not in states:
                return None  # another thread or process got there first
            return act(fresh)

    @staticmethod
    def _count(report: ReplayReport, entry: Entry | None) -> None:
        if entry is None:
            return
        if entry.state is State.CONFIRMED:
            report.confirmed += 1
        elif entry.state is State.DOUBLE_USE_DETECTED:
            report.double_use_detected += 1
        elif entry.state is State.REFUSED_AT_REPLAY:
            report.refused_at_replay += 1
        elif entry.state is State.REVERSED:
            report.reversed += 1
        elif entry.state is State.REFUSED_OFFLINE:
            report.settled_not_written_off += 1

    def settleable(self, entry: Entry) -> bool:
        return entry.updated_at <= self._clock() - self._settle_after

    def _update(self, entry: Entry, answer: Answer | None, state: State, message: str | None) -> Entry:
        changes: dict[str, Any] = {"state": state, "message": message, "updated_at": self._clock()}
        if answer is not None:
            voucher_id = answer.body.get("voucher_id")
            changes.update(
                hq_status=answer.status, hq_answer=answer.body, hq_error=None if answer.ok else answer.error,
                voucher_id=voucher_id if isinstance(voucher_id, str) else entry.voucher_id,
            )  # fmt: skip
        return self._journal.update(entry, **changes)

    def replay_entry(self, entry: Entry) -> Entry:
        answer = _checked(self._hq.consume(consume_body(entry, self._till_id, offline=True)))
        if answer.ok:
            return self._update(entry, answer, State.CONFIRMED, None)
        if answer.status == 409 and answer.error == "idempotency_conflict" and entry.online_sent:
            online = _checked(self._hq.consume(consume_body(entry, self._till_id, offline=False)))
            if online.ok:
                return self._update(entry, online, State.CONFIRMED, "HQ had written it off from the online attempt")
            answer = online
        if answer.status == 409 and answer.error == "already_used":
            _LOG.warning("offline write-off %s of %s was a double use: %s", entry.request_id, entry.voucher_id,
                         answer.message)  # fmt: skip
            return self._update(entry, answer, State.DOUBLE_USE_DETECTED, answer.message)
        return self._update(entry, answer, State.REFUSED_AT_REPLAY, f"{answer.error}: {answer.message}")

    def settle_entry(self, entry: Entry) -> Entry:
        if not entry.online_sent:
            return self._update(entry, None, State.REFUSED_OFFLINE, "never sent: HQ did not receive it")
        answer = _checked(self._hq.lookup({"short_code" if entry.is_short else "code": entry.code}))
        if answer.status == 429:
            raise HqUnreachable("HQ rate-limits short-code lookups; settling waits", delivered=False)
        used = answer.body.get("used") or {}
        written_off_here = (
            answer.ok and answer.body.get("verdict") == "used" and isinstance(used, dict)
            and used.get("till_id") == self._till_id and used.get("order_no") == entry.order_no
        )  # fmt: skip
        if not written_off_here:
            return self._update(entry, None, State.REFUSED_OFFLINE, "HQ never wrote it off")
        voucher_id = str(answer.body.get("voucher_id"))
        reversal = {"request_id": f"{entry.request_id}.rev", "till_id": self._till_id, "reason": _REVERSE_REASON}
        reversed_ = _checked(self._hq.reverse(voucher_id, reversal))
        if reversed_.ok:
            _LOG.warning("voucher %s was written off at HQ for order %s although the POS was told no: reversed",
                         voucher_id, entry.order_no)  # fmt: skip
            return self._journal.update(
                entry, state=State.REVERSED, voucher_id=voucher_id, updated_at=self._clock(),
                message="HQ had written it off although the POS was told it was refused; reversed",
            )  # fmt: skip
        # Left in doubt, named in `status`: an operator reverses it at HQ, or it stays used.
        return self._journal.update(
            entry, voucher_id=voucher_id, updated_at=self._clock(),
            message=f"HQ wrote it off for this order and refused the reversal ({reversed_.error}: "
            f"{reversed_.message}); reverse it at HQ",
        )  # fmt: skip
