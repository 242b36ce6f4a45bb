"""The outbox relay: publishes ledger events in sequence order and deletes them only on HQ's ack.

A PUBACK only says the broker has a message, and a broker without persistence forgets it when it
restarts, so the relay keeps every event in the ledger's outbox until HQ's application-level
`event_ack` names it (docs/mqtt.md "Delivery guarantees"); the link hands it only acks whose HQ
signature verified (`sync.acks`). At most `window` events wait for acks;
when the connection comes back, or the oldest waits longer than the ack timeout, the relay starts
again from the head of the outbox and HQ drops the duplicates by (device_id, seq).

An ack timeout is also the kiosk's only sign that HQ has stopped answering while the broker still
accepts its messages (HQ's consumer down, HQ's own link broken): `hq_answering` turns false then,
and true again with the next ack, so the link can report that as offline (redemptions then follow
the offline policy) instead of treating "connected to the broker" as "HQ is there".

Not thread-safe: the link's worker thread is its only caller.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

from sync.acks import AckedEvent
from sync.ports import Clock, OutboxEventLike, OutboxPort
from sync.schemas import EventMessage, dumps

_LOG = logging.getLogger(__name__)
#: Outbox rows deleted per ledger transaction when acks arrive.
ACK_CHUNK = 500


class TokenBucket:
    """Drain-rate limit; `rate_per_s=None` means unlimited."""

    def __init__(self, rate_per_s: float | None, clock: Clock, burst: float | None = None) -> None:
        if rate_per_s is not None and rate_per_s <= 0:
            raise ValueError("drain rate must be positive (or None for unlimited)")
        self._rate = rate_per_s
        self._clock = clock
        self._burst = burst if burst is not None else max(1.0, (rate_per_s or 1.0) / 10)
        self._tokens = self._burst
        self._last = clock.monotonic()

    def take(self) -> bool:
        if self._rate is None:
            return True
        now = self._clock.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_s(self) -> float:
        if self._rate is None:
            return 0.0
        return max(0.0, (1.0 - self._tokens) / self._rate)


class OutboxRelay:
    def __init__(
        self,
        *,
        outbox: OutboxPort,
        publish: Callable[[str, bytes], None],
        topic: str,
        device_id: str,
        clock: Clock,
        window: int = 500,
        ack_timeout_s: float = 30.0,
        drain_rate_per_s: float | None = None,
        max_ack_timeout_s: float = 300.0,
    ) -> None:
        if window < 2:
            raise ValueError("window must be at least 2")
        self._outbox = outbox
        self._publish = publish
        self._topic = topic
        self._device_id = device_id
        self._clock = clock
        self._window = window
        self._base_timeout = ack_timeout_s
        self._timeout = ack_timeout_s
        self._max_timeout = max_ack_timeout_s
        self._bucket = TokenBucket(drain_rate_per_s, clock)
        self._inflight: OrderedDict[str, tuple[int, float]] = OrderedDict()  # event_id -> (seq, sent monotonic)
        self._last_sent_seq = 0
        self._online = False
        self._connected_at: dt.datetime | None = None
        # No evidence of silence yet: HQ has not been waited on in vain.
        self._hq_answering = True
        self.published = 0  # counters for telemetry and tests
        self.resends = 0

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    @property
    def hq_answering(self) -> bool:
        """False from an ack timeout until the next ack: HQ is not acknowledging what it is sent."""
        return self._hq_answering

    @property
    def reaches_hq(self) -> bool:
        """Connected to the broker, and HQ acknowledging what it is sent: the link is online."""
        return self._online and self._hq_answering

    @property
    def connected_at(self) -> dt.datetime | None:
        return self._connected_at

    def connected(self) -> None:
        self._online = True
        self._connected_at = self._clock.now()
        self.restart("connected")

    def disconnected(self) -> None:
        self._online = False
        self._inflight.clear()

    def restart(self, why: str) -> None:
        """Forget what is in flight and send again from the head of the outbox."""
        if self._inflight:
            self.resends += 1
            _LOG.info("relay restarts from the head of the outbox (%s, %d in flight)", why, len(self._inflight))
        self._inflight.clear()
        self._last_sent_seq = 0

    def acked(self, events: Iterable[AckedEvent]) -> int:
        """Delete what a verified ack names; returns how many outbox rows went.

        An event in flight must be acked with the seq it was sent with. The outbox is emptied in
        chunks of `ACK_CHUNK`, one ledger transaction each, so a huge backlog of acks never holds
        the ledger (and a card tap waiting for it) for long. Only an ack that matched something
        this relay sent, or removed something, shows that HQ is answering now: a replayed old ack
        is genuine but proves nothing about the present.
        """
        pairs: list[tuple[int, str]] = []
        fresh = False
        for event in events:
            sent = self._inflight.get(event.event_id)
            if sent is not None and sent[0] != event.seq:
                _LOG.warning("ack names %s with seq %d, it was sent as %d: ignored", event.event_id, event.seq, sent[0])
                continue
            if sent is not None:
                del self._inflight[event.event_id]
                fresh = True
            pairs.append((event.seq, event.event_id))
        removed = 0
        for start in range(0, len(pairs), ACK_CHUNK):
            # Pairs: the outbox deletes an event only under the seq the ack names.
            removed += self._outbox.outbox_ack(pairs[start : start + ACK_CHUNK])
        if fresh or removed:
            if not self._hq_answering:
                _LOG.info("HQ acknowledges events again")
            self._hq_answering = True
            self._timeout = self._base_timeout  # HQ is answering: back to the normal patience
        return removed

    def check_timeout(self) -> None:
        if not self._inflight:
            return
        _, oldest = next(iter(self._inflight.values()))
        if self._clock.monotonic() - oldest > self._timeout:
            _LOG.warning(
                "no ack from HQ within %.0f s%s",
                self._timeout,
                "; treating HQ as unreachable until it acknowledges" if self._hq_answering else "",
            )
            self._hq_answering = False
            # Back off so a slow HQ is not buried under ever more resends.
            self._timeout = min(self._max_timeout, self._timeout * 2)
            self.restart("ack timeout")

    def pump(self) -> float | None:
        """Publish what the window and rate allow; seconds until the next useful pump, or None."""
        if not self._online:
            return None
        # Refill only below half the window: each read of the outbox then yields many events.
        if len(self._inflight) > self._window // 2:
            return None
        events = self._outbox.outbox_pending(self._window)
        for event in events:
            if event.seq <= self._last_sent_seq or event.event_id in self._inflight:
                continue
            if len(self._inflight) >= self._window:
                break
            if not self._bucket.take():
                return self._bucket.wait_s()
            self._send(event)
        return None

    def _send(self, event: OutboxEventLike) -> None:
        historical = self._connected_at is not None and event.created_at < self._connected_at
        message = EventMessage(
            self._device_id,
            event.seq,
            event.event_id,
            event.type,
            event.created_at,
            bool(event.offline),
            historical,
            dict(event.payload),
        )
        self._publish(self._topic, dumps(message.to_json()))
        self._inflight[event.event_id] = (event.seq, self._clock.monotonic())
        self._last_sent_seq = event.seq
        self.published += 1
