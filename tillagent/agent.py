"""The till agent: consume (write off), lookup, fetch-keys, status, and replay (tillagent.replay).

Online, HQ decides and its answer is final. When HQ is unreachable (no connection, a timeout, a
5xx), the agent decides within bounds, with public material only:

1. the code verifies against the cached signed key directory (signature, key not revoked, not
   expired, this store's when `till_scope: store`); typed short codes cannot be verified offline;
2. no other attempt in this till's journal holds the voucher (written off, pending, in doubt), and
   HQ did not refuse this very code before;
3. its value is at most `offline_max_value_fen`, and today's offline total stays within
   `offline_daily_cap_fen` (today: the local calendar day of till.yaml's time zone).

Then it is journaled `pending_replay` (on disk before the answer) and replayed when HQ is back.

A POS that asks again for the same voucher and order gets the first answer back (`repeat`), with no
request to HQ; if the first try ended in doubt (HQ may have committed it), the retry sends the same
request id again, so HQ answers its first answer instead of writing the voucher off twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.ledger.vouchers import VerifyStatus
from sync.errors import SyncError
from sync.keys import load_public_key_file
from tillagent.codes import ORDER_NO, Scanned, scanned
from tillagent.config import TillSettings, till_token
from tillagent.directory import DirectoryVerifier, TrustedDirectory
from tillagent.errors import DirectoryProblem, HqUnreachable, TillConfigError
from tillagent.hq_client import Answer, HqClient
from tillagent.journal import Entry, Journal, Refusal, State
from tillagent.outcomes import ACCEPTED_OFFLINE, REFUSED, REPEAT, WRITTEN_OFF, Lookup, Outcome, ReplayReport
from tillagent.replay import Replayer, TokenRefused, consume_body

_LOG = logging.getLogger(__name__)
#: Attempts that hold the voucher at this till: offline, another one is refused.
_HOLDING = (State.SENDING, State.IN_DOUBT, State.PENDING_REPLAY, State.CONFIRMED, State.DOUBLE_USE_DETECTED)
#: HQ's refusals that are about the voucher itself (not the till's token or request).
_VOUCHER_VERDICTS = frozenset(
    {"already_used", "cancelled", "expired", "invalid", "other_store", "over_unregistered_cap", "not_found"}
)
_DESCRIBE = {
    State.SENDING: "sent to HQ, answer not known",
    State.IN_DOUBT: "may have reached HQ",
    State.PENDING_REPLAY: "accepted offline, not yet at HQ",
    State.CONFIRMED: "written off at HQ",
    State.DOUBLE_USE_DETECTED: "used twice, HQ alarmed",
}


class TillAgent:
    """One till's agent over its journal; thread-safe (the local HTTP daemon serves from threads)."""

    def __init__(
        self,
        settings: TillSettings,
        *,
        hq: HqClient,
        hq_keys: list[Ed25519PublicKey],
        journal: Journal,
        clock: Callable[[], dt.datetime] | None = None,
        settle_after: dt.timedelta = dt.timedelta(minutes=2),
    ) -> None:
        self.settings = settings
        self._hq = hq
        self._journal = journal
        self._clock = clock or (lambda: dt.datetime.now(settings.tz))
        self._lock = threading.RLock()
        self._verifier = DirectoryVerifier(hq_keys, till_id=settings.till_id, store_id=settings.store_id)
        self._replayer = Replayer(
            journal, hq, till_id=settings.till_id, clock=self.now, lock=self._lock, settle_after=settle_after
        )

    @classmethod
    def open(
        cls, settings: TillSettings, config_path: Path, *, environ: Mapping[str, str] = os.environ, **kwargs: Any
    ) -> TillAgent:
        """The agent till.yaml describes: its token, HQ's keys and its journal (TillConfigError if unusable)."""
        token = till_token(settings, config_path, environ)
        try:
            keys = load_public_key_file(settings.hq_public_key)
        except SyncError as exc:
            raise TillConfigError(f"{config_path}: hq_public_key: {exc}") from None
        hq = HqClient(settings.hq_url, token, timeout_s=settings.timeout_s)
        return cls(settings, hq=hq, hq_keys=keys, journal=Journal(settings.journal), **kwargs)

    @property
    def journal(self) -> Journal:
        return self._journal

    @property
    def hq(self) -> HqClient:
        """The till's authenticated client (the purchase simulator reports through it)."""
        return self._hq

    def close(self) -> None:
        self._journal.close()

    def now(self) -> dt.datetime:
        return self._clock().astimezone(self.settings.tz)

    def _day(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.settings.tz).date().isoformat()

    # -- consume ----------------------------------------------------------------------------------

    def consume(self, code: str, order_no: str) -> Outcome:
        """Write the voucher off for `order_no`: HQ's answer, or an offline acceptance within bounds."""
        scan = scanned(code)
        if not ORDER_NO.fullmatch(order_no):
            message = f"order number {order_no!r} must be 1-64 characters of A-Z a-z 0-9 _ . - /"
            return Outcome(False, REFUSED, message, order_no, error="invalid_order_no", mode="local")
        if scan.problem is not None:
            return Outcome(False, REFUSED, scan.problem, order_no, error="invalid", mode="local")
        with self._lock:
            earlier = self._journal.for_voucher(scan.voucher_id, scan.short_code)
            same_order = [e for e in earlier if e.order_no == order_no]
            done = next((e for e in same_order if e.state in (State.CONFIRMED, State.PENDING_REPLAY)), None)
            if done is not None:
                return self._repeat(done)
            # A try that may have reached HQ is retried with its request id: HQ answers it once.
            retry = next((e for e in same_order if e.state in (State.SENDING, State.IN_DOUBT) and e.online_sent), None)
            try:
                self._settle_first([e for e in earlier if e is not retry])
            except HqUnreachable as exc:
                return self._offline(retry or self._journal.add(self._new_entry(scan, order_no)), scan, exc)
            except TokenRefused as exc:
                return Outcome(False, REFUSED, str(exc), order_no, error="unauthorized")
            # Journaled before the request leaves: a crash mid-request leaves a row replay settles.
            entry = retry or self._journal.add(self._new_entry(scan, order_no, online_sent=True))
            try:
                answer = self._hq.consume(consume_body(entry, self.settings.till_id, offline=False))
            except HqUnreachable as exc:
                if not exc.delivered and retry is None:
                    entry = self._journal.update(entry, online_sent=False)
                return self._offline(entry, scan, exc)
            return self._online(entry, answer)

    def _new_entry(self, scan: Scanned, order_no: str, *, online_sent: bool = False) -> Entry:
        now = self.now()
        return Entry(
            request_id=uuid.uuid4().hex, code=scan.text, is_short=scan.is_short, order_no=order_no, accepted_at=now,
            local_day=self._day(now), mode="online", state=State.SENDING, updated_at=now,
            voucher_id=scan.voucher_id, short_code=scan.short_code, value_fen=scan.value_fen, online_sent=online_sent,
        )  # fmt: skip

    def _settle_first(self, earlier: list[Entry]) -> None:
        """Bring HQ up to date on this voucher before asking it again (HQ must know what this till did)."""
        for entry in earlier:
            if entry.state is State.PENDING_REPLAY:
                self._replayer.replay_entry(entry)
            elif entry.state in (State.IN_DOUBT, State.SENDING) and self._replayer.settleable(entry):
                self._replayer.settle_entry(entry)

    def _repeat(self, entry: Entry) -> Outcome:
        how = "written off at HQ" if entry.state is State.CONFIRMED else "accepted offline"
        return Outcome(
            True, REPEAT,
            f"already {how} for this order at {entry.accepted_at:%H:%M:%S}: the first answer again, apply it once",
            entry.order_no, request_id=entry.request_id, voucher_id=entry.voucher_id, short_code=entry.short_code,
            value_fen=entry.value_fen, mode="local", replayed=True,
        )  # fmt: skip

    def _online(self, entry: Entry, answer: Answer) -> Outcome:
        body = answer.body
        common: dict[str, Any] = {"request_id": entry.request_id, "short_code": entry.short_code}
        if answer.ok:
            value = body.get("value_fen")
            entry = self._journal.update(
                entry, state=State.CONFIRMED, hq_status=answer.status, hq_answer=body, message=None,
                voucher_id=body.get("voucher_id") or entry.voucher_id, updated_at=self.now(),
                value_fen=value if isinstance(value, int) else entry.value_fen,
                short_code=body.get("short_code") or entry.short_code,
            )  # fmt: skip
            replayed = bool(body.get("replayed"))
            message = "written off at HQ" + (" (HQ had it from an earlier try of this write-off)" if replayed else "")
            return Outcome(
                True, WRITTEN_OFF, message, entry.order_no, request_id=entry.request_id, voucher_id=entry.voucher_id,
                short_code=entry.short_code, value_fen=entry.value_fen, replayed=replayed,
            )  # fmt: skip
        error = "unauthorized" if answer.status == 401 else answer.error
        self._journal.update(
            entry, state=State.REFUSED, hq_status=answer.status, hq_error=error, message=answer.message,
            hq_answer=body, updated_at=self.now(),
        )  # fmt: skip
        used = body.get("used") if isinstance(body.get("used"), dict) else None
        return Outcome(
            False, REFUSED, answer.message, entry.order_no, error=error, voucher_id=entry.voucher_id,
            value_fen=entry.value_fen, used=used, **common,
        )  # fmt: skip

    def _offline(self, entry: Entry, scan: Scanned, exc: HqUnreachable) -> Outcome:
        now = self.now()
        refusal = self._offline_refusal(scan, now)
        if refusal is None:
            accepted = self._journal.accept_offline(
                entry, accepted_at=now, day=self._day(now), cap_fen=self.settings.offline_daily_cap_fen,
                blocked_by=functools.partial(self._blocks, scan),
            )  # fmt: skip
            if isinstance(accepted, Entry):
                return Outcome(
                    True, ACCEPTED_OFFLINE, f"accepted offline (HQ unreachable: {exc.why}); replayed when HQ is back",
                    entry.order_no, request_id=entry.request_id, voucher_id=entry.voucher_id,
                    short_code=entry.short_code, value_fen=entry.value_fen, mode="offline",
                )  # fmt: skip
            refusal = accepted
        in_doubt = entry.online_sent
        self._journal.update(
            entry, state=State.IN_DOUBT if in_doubt else State.REFUSED_OFFLINE, updated_at=now,
            hq_error=refusal.error, message=refusal.message,
        )  # fmt: skip
        message = f"HQ unreachable ({exc.why}); {refusal.message}"
        if in_doubt:
            message += "; the request may have reached HQ: scan it again for this order when HQ is back"
        return Outcome(
            False, REFUSED, message, entry.order_no, error=refusal.error, request_id=entry.request_id,
            voucher_id=entry.voucher_id, short_code=entry.short_code, value_fen=entry.value_fen, mode="offline",
        )  # fmt: skip

    def _offline_refusal(self, scan: Scanned, now: dt.datetime) -> Refusal | None:
        if scan.is_short:
            return Refusal("offline_short_code", "a typed short code cannot be verified offline; scan the QR code")
        try:
            directory = self.trusted_directory(now)
        except DirectoryProblem as exc:
            return Refusal("no_key_directory", f"cannot verify offline: {exc}")
        verdict = directory.keys.verify(scan.text, now, store_id=self.settings.scope_store)
        if not verdict.ok:
            return Refusal(verdict.status.value, verdict.reason)
        value, most = scan.value_fen or 0, self.settings.offline_max_value_fen
        if value > most:
            return Refusal("offline_max_value", f"worth {value} fen, more than the {most} fen a till accepts offline")
        return None

    @staticmethod
    def _blocks(scan: Scanned, other: Entry) -> Refusal | None:
        """Whether another journaled attempt forbids accepting `scan` offline, and why."""
        same = (scan.voucher_id is not None and other.voucher_id == scan.voucher_id) or (
            scan.short_code is not None and other.short_code == scan.short_code
        )
        if other.state in _HOLDING and same:
            return Refusal(
                "already_journaled",
                f"this till already has it: order {other.order_no} at {other.accepted_at:%Y-%m-%d %H:%M:%S} "
                f"({_DESCRIBE[other.state]})",
            )
        # HQ's verdict on this very text stands (a forged code claiming a real voucher's id does not).
        if other.state in (State.REFUSED, State.REFUSED_AT_REPLAY) and other.code == scan.text:
            if other.hq_error in _VOUCHER_VERDICTS:
                return Refusal(other.hq_error or "refused", f"HQ refused it before: {other.message}")
        return None

    # -- the key directory ------------------------------------------------------------------------

    def trusted_directory(self, now: dt.datetime | None = None) -> TrustedDirectory:
        """The cached directory, verified again now (DirectoryProblem when missing or untrustworthy)."""
        cached = self._journal.cached_directory()
        if cached is None:
            raise DirectoryProblem("no key directory cached: run `kiosk-till fetch-keys` while HQ is reachable")
        raw, version, _fetched_at = cached
        trusted = self._verifier.verify(raw, now or self.now())
        if trusted.version != version:
            raise DirectoryProblem(f"the cached directory says version {trusted.version}, the journal {version}")
        return trusted

    def fetch_keys(self) -> TrustedDirectory:
        """GET HQ's signed directory, verify it, store it (HqUnreachable, TokenRefused, DirectoryProblem)."""
        answer = self._hq.voucher_keys()
        if answer.status == 401:
            raise TokenRefused(f"HQ refused the till's token: {answer.message}")
        if not answer.ok:
            raise DirectoryProblem(f"HQ answered {answer.status}: {answer.message}")
        now = self.now()
        trusted = self._verifier.verify(answer.raw, now)
        with self._lock:
            cached = self._journal.cached_directory()
            self._verifier.check_not_older(trusted, None if cached is None else cached[1])
            self._journal.save_directory(answer.raw, trusted.version, now)
        return trusted

    # -- lookup -----------------------------------------------------------------------------------

    def lookup(self, code: str) -> Lookup:
        """HQ's verdict on a code or short code; offline, the directory's and the journal's."""
        scan = scanned(code)
        if scan.problem is not None:
            return Lookup("invalid", scan.problem, "local")
        entries = self._journal.for_voucher(scan.voucher_id, scan.short_code)
        known = [_summary(e) for e in entries]
        try:
            answer = self._hq.lookup(scan.body())
        except HqUnreachable as exc:
            return self._offline_lookup(scan, entries, known, exc)
        if answer.status == 401:
            return Lookup("unauthorized", f"HQ refused the till's token: {answer.message}", "hq", journal=known)
        if answer.status == 429:
            return Lookup("rate_limited", answer.message, "hq", short_code=scan.short_code, journal=known)
        if not answer.ok:
            return Lookup("invalid", answer.message, "hq", short_code=scan.short_code, journal=known)
        body = answer.body
        verdict, reason = str(body.get("verdict")), str(body.get("reason"))
        pending = next((e for e in entries if e.state is State.PENDING_REPLAY), None)
        if verdict == "valid" and pending is not None:
            verdict = "used"
            reason = f"accepted offline at this till for order {pending.order_no}; HQ hears of it at the next replay"
        return Lookup(
            verdict, reason, "hq", voucher_id=body.get("voucher_id"), short_code=body.get("short_code"),
            value_fen=body.get("value_fen"), reward_id=body.get("reward_id"), expires_at=body.get("expires_at"),
            issuing_store=body.get("issuing_store"), used=body.get("used"), journal=known,
        )  # fmt: skip

    def _offline_lookup(
        self, scan: Scanned, entries: list[Entry], known: list[dict[str, Any]], exc: HqUnreachable
    ) -> Lookup:
        info: dict[str, Any] = {"short_code": scan.short_code, "journal": known}
        if scan.voucher is not None:
            info.update(
                voucher_id=scan.voucher_id, value_fen=scan.value_fen, reward_id=scan.voucher.reward_id,
                expires_at=scan.voucher.expires_at.isoformat(),
            )  # fmt: skip
        holding = next((e for e in reversed(entries) if self._blocks(scan, e) is not None), None)
        if holding is not None:
            why = self._blocks(scan, holding)
            assert why is not None
            return Lookup("used" if holding.state in _HOLDING else "invalid", why.message, "offline", **info)
        if scan.is_short:
            return Lookup("unknown", f"HQ unreachable ({exc.why}); a short code needs HQ: scan the QR code",
                          "offline", **info)  # fmt: skip
        now = self.now()
        try:
            directory = self.trusted_directory(now)
        except DirectoryProblem as problem:
            return Lookup("unknown", f"HQ unreachable and {problem}", "offline", **info)
        verdict = directory.keys.verify(scan.text, now, store_id=self.settings.scope_store)
        word = {VerifyStatus.VALID: "valid", VerifyStatus.EXPIRED: "expired", VerifyStatus.OTHER_STORE: "other_store"}
        return Lookup(
            word.get(verdict.status, "invalid"), verdict.reason, "offline", issuing_store=verdict.store_id, **info
        )

    # -- replay and status ------------------------------------------------------------------------

    def replay(self) -> ReplayReport:
        return self._replayer.replay()

    def catch_up(self) -> ReplayReport:
        """After HQ answered (and at start): refresh a stale key directory, then replay.

        Refreshing here too means a till driven only through the CLI learns of a revoked kiosk key at
        its next online write-off, not only when someone runs `fetch-keys`.
        """
        cached = self._journal.cached_directory()
        stale_after = dt.timedelta(seconds=self.settings.replay_interval_s)
        if cached is None or self.now() - cached[2] >= stale_after:
            try:
                self.fetch_keys()
            except (HqUnreachable, DirectoryProblem, TokenRefused) as exc:
                _LOG.warning("key directory not refreshed: %s", exc)
        return self.replay()

    def status(self) -> dict[str, Any]:
        now = self.now()
        day = self._day(now)
        directory: dict[str, Any]
        try:
            trusted = self.trusted_directory(now)
            directory = {
                "usable": True, "version": trusted.version, "keys": len(trusted.keys),
                "issued_at": trusted.issued_at.isoformat(), "not_after": trusted.not_after.isoformat(),
            }  # fmt: skip
        except DirectoryProblem as exc:
            directory = {"usable": False, "problem": str(exc)}
        return {
            "till_id": self.settings.till_id,
            "store_id": self.settings.store_id,
            "hq_url": self.settings.hq_url,
            "day": day,
            "offline_today_fen": self._journal.offline_total(day),
            "offline_daily_cap_fen": self.settings.offline_daily_cap_fen,
            "offline_max_value_fen": self.settings.offline_max_value_fen,
            "pending": [_summary(e) for e in self._journal.in_states(State.PENDING_REPLAY)],
            "in_doubt": [_summary(e) for e in self._journal.in_states(State.IN_DOUBT, State.SENDING)],
            "states": self._journal.state_counts(),
            "directory": directory,
        }


def _summary(entry: Entry) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "voucher_id": entry.voucher_id,
        "short_code": entry.short_code,
        "order_no": entry.order_no,
        "value_fen": entry.value_fen,
        "mode": entry.mode,
        "state": entry.state.value,
        "accepted_at": entry.accepted_at.isoformat(),
        "message": entry.message,
    }
