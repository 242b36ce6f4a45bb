"""What the link notices about attacks on it, counted for telemetry and reported to HQ sparingly.

- `LinkCounters`: every refusal by kind, published in telemetry under `link` (docs/mqtt.md).
- `SecurityReporter`: turns a refusal into a `security.*` ledger event (it reaches HQ through the
  outbox like any event), at most once per kind per interval, so a flood of forgeries cannot fill
  the outbox; the counters still see every one.
- `TakeoverWatch`: a broker disconnects a client when another connects with the same client id
  ("session taken over"). Once is a restart; again and again within a minute is somebody else
  using this kiosk's identity, and the kiosk says so instead of flapping silently.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sync.ports import Clock

_LOG = logging.getLogger(__name__)


class SecurityEventSink(Protocol):
    def record_security_event(self, kind: str, uid: bytes | None, detail: Mapping[str, Any] | str) -> object: ...


@dataclass
class LinkCounters:
    """Totals since start; telemetry carries them so HQ sees an attack even when events are suppressed."""

    session_takeovers: int = 0
    short_connections: int = 0
    unverified_acks: int = 0
    refused_commands: int = 0
    rejected_pushes: int = 0
    dropped_inbound: int = 0
    push_acks_suppressed: int = 0
    security_events_suppressed: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


class SecurityReporter:
    def __init__(
        self, sink: SecurityEventSink, clock: Clock, counters: LinkCounters, *, interval_s: float = 600.0
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._counters = counters
        self._interval = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, kind: str, detail: Mapping[str, Any]) -> bool:
        """Record `security.{kind}` unless one was recorded within the interval; True if recorded."""
        now = self._clock.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            self._counters.security_events_suppressed += 1
            return False
        self._last[kind] = now
        body = {**detail, "suppressed_since_last": self._suppressed.pop(kind, 0)}
        try:
            self._sink.record_security_event(kind, None, body)
        except Exception:  # noqa: BLE001 - a full disk must not stop the link; the counters remain
            _LOG.exception("could not record security event %s", kind)
            return False
        return True


TAKEOVER_REASON = "session taken over"


class TakeoverWatch:
    """Counts connections ended by a takeover (MQTT 5 reason 0x8E) or that lived under `short_s`.

    MQTT 3.1.1 has no reason on the wire: there a takeover looks like a connection that is closed
    moments after it was made, which is what `short_s` catches.
    """

    def __init__(
        self,
        clock: Clock,
        counters: LinkCounters,
        reporter: SecurityReporter,
        *,
        threshold: int = 3,
        window_s: float = 60.0,
        short_s: float = 5.0,
    ) -> None:
        self._clock = clock
        self._counters = counters
        self._reporter = reporter
        self._threshold = threshold
        self._window = window_s
        self._short = short_s
        self._recent: deque[float] = deque()
        self._connected_at: float | None = None

    def connected(self) -> None:
        self._connected_at = self._clock.monotonic()

    def disconnected(self, reason: str) -> None:
        now = self._clock.monotonic()
        lived = None if self._connected_at is None else now - self._connected_at
        self._connected_at = None
        taken_over = TAKEOVER_REASON in reason.lower()
        short = lived is not None and lived < self._short
        if taken_over:
            self._counters.session_takeovers += 1
        elif short:
            self._counters.short_connections += 1
        else:
            return
        self._recent.append(now)
        while self._recent and now - self._recent[0] > self._window:
            self._recent.popleft()
        if len(self._recent) >= self._threshold:
            _LOG.error(
                "connection lost %d times within %.0f s (%s): another client is probably using this "
                "kiosk's client id; see docs/broker/README.md",
                len(self._recent),
                self._window,
                reason,
            )
            self._reporter.report(
                "session_takeover",
                {
                    "disconnects": len(self._recent),
                    "window_s": int(self._window),
                    "reason": reason,
                    "takeovers_total": self._counters.session_takeovers,
                },
            )
