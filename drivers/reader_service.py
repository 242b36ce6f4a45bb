"""Tap detection: one CardPresented per physical presentation, a CardRemoved when it has gone.

`poll_once()` is called every `poll_interval_s` (by ReaderThread, or a simulation's loop). States:

- no card: WUPA + anticollision each poll. A new card is selected, `read_job(session)` runs; a job
  that fails with a ReaderError is re-run from scratch on the re-selected card (same UID only), so
  only one complete result is ever reported.
- present: the card is halted; each poll re-selects it by UID and halts it again (a swapped card
  fails the SELECT). It is declared removed only after it has been missing for `cooldown_s` and at
  least two polls; if it comes back within that time it is the same tap, no new event.
- a card whose read failed is remembered so it does not produce a ReadFailed on every poll; once
  it has been missing from a poll and is seen again, it is read again.

Health: VersionReg is read at start and every `health_interval_s`; a BusFault or a changed
VersionReg starts recovery (soft reset, then the reset pin, then re-init with backoff). The same
check reads back the configuration registers `init` wrote: a brown-out or EMI can reset them while
VersionReg still reads right, and the reader then hears no card for good. A drifted register is
re-initialised on the spot (no state change, the kiosk keeps running), logged as a warning, counted
in `config_restores` and kept as `last_error`. The state ok/recovering/failed, the last error, the
chip's name and counters are exposed by `health`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from drivers.clock import Clock
from drivers.errors import BusFault, CardTimeout, CollisionError, ReaderError
from drivers.events import (
    FAILED,
    OK,
    RECOVERING,
    CardPresented,
    CardRemoved,
    R,
    ReaderEvent,
    ReaderHealth,
    ReaderHealthChanged,
    ReadFailed,
)
from drivers.mfrc522 import Mfrc522
from drivers.session import CardSession, open_session

_LOG = logging.getLogger(__name__)
T = TypeVar("T")

# 28 ms: a member read (two sector authentications, six block reads) is ~24 ms of mostly RF air
# time, so the tap-to-data targets (p50 < 40 ms, p95 < 60 ms) need the poll wait below ~30 ms
# (see bench/reader.py: p50 39.0 ms at 28 ms). An idle poll is only 5 register accesses, but each
# is a thread wake-up, which is what an idle kiosk's CPU is made of, so polls are as rare as the
# latency targets allow.
DEFAULT_POLL_INTERVAL_S = 0.028
DEFAULT_COOLDOWN_S = 1.5
MISSES_FOR_REMOVAL = 2
BACKOFF_S = (0.0, 0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
FAILED_AFTER_ATTEMPTS = 5


@dataclass
class _Presence:
    uid: bytes
    card_type: str
    read_ok: bool
    last_seen: float
    misses: int = 0


def _no_job(session: CardSession) -> None:
    return None


class ReaderService(Generic[R]):
    """Tap detection over one reader; `R` is what `read_job` returns for a presented card."""

    def __init__(
        self,
        driver: Mfrc522,
        clock: Clock,
        *,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        read_job: Callable[[CardSession], R] | None = None,
        read_attempts: int = 3,
        health_interval_s: float = 5.0,
    ) -> None:
        if poll_interval_s <= 0 or cooldown_s < 0 or read_attempts < 1:
            raise ValueError("poll interval must be > 0, cooldown >= 0, read attempts >= 1")
        self.driver = driver
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self.cooldown_s = cooldown_s
        # No job: report the card with a None result (tests of tap detection alone).
        self.read_job: Callable[[CardSession], R] = read_job or cast(Callable[[CardSession], R], _no_job)
        self.read_attempts = read_attempts
        self.health_interval_s = health_interval_s
        self._presence: _Presence | None = None
        self._collision_reported = False
        self._empty_polls = 0
        self._state = RECOVERING  # until the first successful init
        self._last_error: str | None = None
        self._version: int | None = None
        self._next_health_check = 0.0
        self._recovery_attempts = 0
        self._next_recovery_at = 0.0
        self.counts = {
            "polls": 0,
            "taps": 0,
            "removals": 0,
            "read_failures": 0,
            "read_retries": 0,
            "recoveries": 0,
            "faults": 0,
            "collisions": 0,
            "config_restores": 0,
        }

    # --- public --------------------------------------------------------------------------------------
    @property
    def health(self) -> ReaderHealth:
        return ReaderHealth(self._state, self._last_error, self._version, dict(self.counts), self.driver.chip)

    @property
    def present_uid(self) -> bytes | None:
        presence = self._presence
        return presence.uid if presence is not None and presence.read_ok else None

    @property
    def card_in_field(self) -> bool:
        """A card is being followed (read or not): the presentation has not ended yet."""
        return self._presence is not None

    def poll_once(self) -> list[ReaderEvent[R]]:
        events: list[ReaderEvent[R]] = []
        now = self.clock.monotonic()
        self.counts["polls"] += 1
        if self._state != OK:
            if now < self._next_recovery_at:
                return events
            self._recover(events, now)
            if self._state != OK:
                return events
        try:
            if now >= self._next_health_check:
                self._check_version(now)
                self._check_config()
            if self._presence is None:
                self._detect(events, now)
            else:
                self._follow(events, now)
        except BusFault as exc:
            self._fault(events, exc, now)
        return events

    def with_card(self, job: Callable[[CardSession], T]) -> T:
        """Run `job` on the presented card, still in the field. CardTimeout if it has gone."""
        presence = self._presence
        if self._state != OK:
            raise BusFault(f"reader is {self._state}: {self._last_error}")
        if presence is None or not presence.read_ok:
            raise CardTimeout("no card is presented")
        info = self.driver.reselect(presence.uid)
        session = CardSession(self.driver, info, presence.card_type)
        try:
            return job(session)
        finally:
            try:
                session.halt()
            except ReaderError:
                pass  # the card may have left after the job; the next poll notices

    def start(self) -> list[ReaderEvent[R]]:
        """Initialise the chip now (poll_once would do it on the first call anyway)."""
        events: list[ReaderEvent[R]] = []
        self._recover(events, self.clock.monotonic())
        return events

    # --- detection ---------------------------------------------------------------------------------
    def _detect(self, events: list[ReaderEvent[R]], now: float) -> None:
        try:
            session = open_session(self.driver)
        except CollisionError:
            self._empty_polls = 0
            if not self._collision_reported:
                self._collision_reported = True
                self.counts["collisions"] += 1
                events.append(ReadFailed(None, "more than one card in the field", self.clock.now()))
            return
        except (CardTimeout, ReaderError) as exc:
            if isinstance(exc, BusFault):
                raise
            _LOG.debug("activation failed: %s", exc)
            return
        if session is None:
            self._empty_polls += 1
            if self._empty_polls >= MISSES_FOR_REMOVAL:
                self._collision_reported = False
            return
        self._empty_polls = 0
        self._collision_reported = False
        self._read(events, session, now)

    def _read(self, events: list[ReaderEvent[R]], session: CardSession, now: float) -> None:
        uid, card_type = session.uid, session.card_type
        last_error: ReaderError | None = None
        for attempt in range(self.read_attempts):
            try:
                if attempt:
                    self.counts["read_retries"] += 1
                    session = CardSession(self.driver, self.driver.reselect(uid), card_type)
                result = self.read_job(session)
            except BusFault:
                raise
            except ReaderError as exc:
                last_error = exc
                _LOG.info("read of %s failed (attempt %d): %s", uid.hex(), attempt + 1, exc)
                continue
            except Exception as exc:  # a bug or a domain refusal in the job: report, don't retry
                _LOG.exception("read job raised for card %s", uid.hex())
                self._read_failed(events, uid, card_type, f"read job error: {exc!r}", now)
                return
            self._halt_quietly(session)
            self._presence = _Presence(uid, card_type, True, now)
            self.counts["taps"] += 1
            events.append(CardPresented(uid, card_type, result, self.clock.now()))
            return
        self._read_failed(events, uid, card_type, f"card could not be read: {last_error}", now)

    def _read_failed(self, events: list[ReaderEvent[R]], uid: bytes, card_type: str, reason: str, now: float) -> None:
        self.counts["read_failures"] += 1
        events.append(ReadFailed(uid, reason, self.clock.now()))
        self._presence = _Presence(uid, card_type, False, now)
        self.driver.park()

    def _halt_quietly(self, session: CardSession) -> None:
        try:
            session.halt()
        except BusFault:
            raise
        except ReaderError:
            pass

    # --- presence ------------------------------------------------------------------------------------
    def _follow(self, events: list[ReaderEvent[R]], now: float) -> None:
        presence = self._presence
        assert presence is not None
        if presence.misses == 0:
            if self.driver.probe(presence.uid):
                presence.last_seen = now
                return
            presence.misses = 1
            return
        # Missing: is it back, is another card there, or has it gone for good?
        try:
            session = open_session(self.driver)
        except CollisionError:
            session = None
            presence.misses = 0  # cards are there; ours may be one of them: keep waiting
            return
        except BusFault:
            raise
        except ReaderError:
            session = None
        if session is not None and session.uid == presence.uid:
            if not presence.read_ok:  # it left and came back: a new chance to read it fully
                self._presence = None
                self._read(events, session, now)
                return
            self._halt_quietly(session)
            presence.misses = 0
            presence.last_seen = now
            return
        presence.misses += 1
        gone_long_enough = now - presence.last_seen >= self.cooldown_s or not presence.read_ok
        if session is not None or (presence.misses >= MISSES_FOR_REMOVAL and gone_long_enough):
            self._end_presence(events)
            if session is not None:
                self._read(events, session, now)

    def _end_presence(self, events: list[ReaderEvent[R]]) -> None:
        presence = self._presence
        self._presence = None
        if presence is not None and presence.read_ok:
            self.counts["removals"] += 1
            events.append(CardRemoved(presence.uid, self.clock.now()))

    # --- health ----------------------------------------------------------------------------------------
    def _check_version(self, now: float) -> None:
        self._next_health_check = now + self.health_interval_s
        version = self.driver.read_version()
        if version != self._version:
            raise BusFault(f"VersionReg reads {version:#04x}, expected {self._version:#04x}")

    def _check_config(self) -> None:
        drift = self.driver.config_drift()
        if not drift:
            return
        self.counts["config_restores"] += 1
        self._last_error = f"configuration lost ({', '.join(drift)}); re-initialised"
        _LOG.warning("reader %s", self._last_error)
        self._version = self.driver.init()  # a BusFault here is a real fault: recovery takes over

    def _fault(self, events: list[ReaderEvent[R]], exc: BusFault, now: float) -> None:
        _LOG.warning("reader fault: %s", exc)
        self.counts["faults"] += 1
        self._last_error = str(exc)
        self._recovery_attempts = 0
        self._next_recovery_at = now
        self._set_state(events, RECOVERING)

    def _recover(self, events: list[ReaderEvent[R]], now: float) -> None:
        attempt = self._recovery_attempts
        self._recovery_attempts += 1
        try:
            if attempt == 0:
                self._version = self.driver.init()  # soft reset + configure
            else:
                self._version = self.driver.hard_reset()  # reset pin, then init
        except ReaderError as exc:
            self._last_error = f"recovery attempt {attempt + 1} failed: {exc}"
            _LOG.warning("%s", self._last_error)
            self._next_recovery_at = now + BACKOFF_S[min(attempt + 1, len(BACKOFF_S) - 1)]
            if self._recovery_attempts >= FAILED_AFTER_ATTEMPTS:
                self._set_state(events, FAILED)
            elif self._state == OK:
                self._set_state(events, RECOVERING)
            return
        if self.counts["faults"]:
            self.counts["recoveries"] += 1
        self._recovery_attempts = 0
        self._next_health_check = now + self.health_interval_s
        self._set_state(events, OK)

    def _set_state(self, events: list[ReaderEvent[R]], state: str) -> None:
        if state == self._state:
            return
        self._state = state
        last_error = None if state == OK else self._last_error
        events.append(ReaderHealthChanged(state, last_error, self.clock.now()))
