"""Where each inbound message goes, and the bounds it must pass first (docs/mqtt.md "Limits").

`InboundGate.admit` runs on paho's network thread: it refuses a message too large for its kind
before it is queued and keeps the queue to the worker within a byte and a count budget, so a
flood costs a bounded amount of memory. `InboundRouter.route` runs on the worker: topic -> signed
event ack, signed command or signed document, each answered with a `push_ack` except acks.
Answers that are not "applied" go through a token bucket: a flood of forgeries must not become
a flood of answers (paho's outgoing queue has no bound) or of log lines, and the counters still
see each one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sync.acks import MAX_ACK_BYTES, AckedEvent, verify_event_ack
from sync.alerts import LinkCounters, SecurityReporter
from sync.commands import MAX_COMMAND_BYTES, VerifiedCommand, verify_command
from sync.envelope import EnvelopeVerifier
from sync.errors import PushRejected, TopicError
from sync.inbound import PushHandler, PushOutcome
from sync.mqtt_client import Message
from sync.ports import Clock
from sync.relay import TokenBucket
from sync.schemas import PushAck
from sync.state import VersionStore
from sync.topics import KioskTopics, Scope

_LOG = logging.getLogger(__name__)

#: Reasons that mean "not from HQ": worth a security event, not just a push-ack.
FORGERY_REASONS = frozenset({"unsigned", "unknown_key", "bad_signature"})


@dataclass(frozen=True)
class Oversized:
    """Stands in the queue for a message the gate refused for its size (the body is gone)."""

    topic: str
    size: int
    limit: int


class InboundGate:
    """Size per kind and a budget for everything queued but not yet handled (thread-safe)."""

    def __init__(
        self, *, max_document_bytes: int, counters: LinkCounters, max_queued_bytes: int, max_queued: int
    ) -> None:
        self._limits = {"ack": MAX_ACK_BYTES, "cmd": MAX_COMMAND_BYTES}
        self._max_document = max_document_bytes
        self._counters = counters
        self._max_bytes = max_queued_bytes
        self._max_count = max_queued
        self._lock = threading.Lock()
        self._bytes = 0
        self._count = 0

    @property
    def largest_message(self) -> int:
        return max(self._max_document, *self._limits.values())

    def limit_for(self, topic: str) -> int:
        return self._limits.get(topic.rsplit("/", 1)[-1], self._max_document)

    def admit(self, message: Message) -> Message | Oversized | None:
        """What to queue for the worker, or None (dropped: counted, nothing else to do)."""
        size = len(message.payload)
        limit = self.limit_for(message.topic)
        item: Message | Oversized = message if size <= limit else Oversized(message.topic, size, limit)
        cost = size if item is message else 0
        with self._lock:
            if self._count >= self._max_count or self._bytes + cost > self._max_bytes:
                self._counters.dropped_inbound += 1
                return None
            self._count += 1
            self._bytes += cost
        return item

    def done(self, item: Message | Oversized) -> None:
        """The worker took `item` off the queue: its budget is free again."""
        cost = len(item.payload) if isinstance(item, Message) else 0
        with self._lock:
            self._count -= 1
            self._bytes -= cost


@dataclass(frozen=True)
class Routed:
    """What the kiosk did with one message (tests and fuzzing read this)."""

    route: str  # "topic" (not ours), "ack", "cmd" or "document"
    status: str  # applied | current | rejected (answered), acked | ignored (no answer)
    reason: str | None = None
    detail: str | None = None


class InboundRouter:
    def __init__(
        self,
        *,
        topics: KioskTopics,
        verifier: EnvelopeVerifier,
        handler: PushHandler,
        versions: VersionStore,
        clock: Clock,
        counters: LinkCounters,
        reporter: SecurityReporter,
        answer: Callable[[PushAck], None],
        on_command: Callable[[VerifiedCommand], None],
        answers_per_s: float = 5.0,
    ) -> None:
        self._topics = topics
        self._verifier = verifier
        self._handler = handler
        self._versions = versions
        self._clock = clock
        self._counters = counters
        self._reporter = reporter
        self._answer = answer
        self._on_command = on_command
        self._answers = TokenBucket(answers_per_s, clock, burst=4 * answers_per_s)
        #: Verified acks waiting for the relay (the worker applies a burst in one go).
        self.pending_acks: list[AckedEvent] = []

    def take_acks(self) -> list[AckedEvent]:
        acks, self.pending_acks = self.pending_acks, []
        return acks

    def route(self, item: Message | Oversized) -> Routed:
        try:
            inbound = self._topics.parse(item.topic)
        except TopicError as exc:
            return self._reply("topic", PushOutcome(None, None, "rejected", "unexpected_topic", str(exc)), item.topic)
        if isinstance(item, Oversized):
            return self._oversized(item, inbound.kind, inbound.doc_type)
        if inbound.kind == "ack":
            return self._on_ack(item)
        if inbound.kind == "cmd":
            return self._command(item, inbound.scope)
        if not item.payload:
            _LOG.debug("retained %s cleared on %s", inbound.doc_type, item.topic)
            return Routed("document", "ignored", "retained_cleared")
        assert inbound.doc_type is not None
        outcome = self._handler.handle(inbound.doc_type, inbound.scope, item.payload, part=inbound.part)
        if outcome.status == "rejected":
            self._counters.rejected_pushes += 1
            if outcome.reason in FORGERY_REASONS:
                self._reporter.report("forged_push", {"topic": item.topic, "reason": outcome.reason})
        return self._reply("document", outcome, item.topic)

    def _oversized(self, item: Oversized, kind: str, doc_type: str | None) -> Routed:
        """Refused by the gate for its size (the body is gone): answered like any refusal of its kind."""
        detail = f"{item.size} bytes > {item.limit}"
        if kind == "ack":
            return self._bad_ack("oversized", detail)
        if kind == "cmd":
            self._counters.refused_commands += 1
            return self._reply("cmd", PushOutcome("command", None, "rejected", "oversized", detail), item.topic)
        self._counters.rejected_pushes += 1
        return self._reply("document", PushOutcome(doc_type, None, "rejected", "oversized", detail), item.topic)

    def _on_ack(self, message: Message) -> Routed:
        try:
            events = verify_event_ack(message.payload, keys=self._verifier.keys, device_id=self._topics.device_id)
        except PushRejected as exc:
            return self._bad_ack(exc.reason, exc.detail)
        self.pending_acks.extend(events)
        return Routed("ack", "acked")

    def _bad_ack(self, reason: str, detail: str) -> Routed:
        # Never applied, never answered: an unverified ack cannot move an event or the online state.
        self._counters.unverified_acks += 1
        if self._reporter.report("unverified_ack", {"reason": reason, "detail": detail[:200]}):
            _LOG.warning("ignored an event ack that does not verify: %s %s", reason, detail)
        return Routed("ack", "ignored", reason, detail)

    def _command(self, message: Message, scope: Scope) -> Routed:
        now = self._clock.now()
        try:
            command = verify_command(
                message.payload, retained=message.retain, verifier=self._verifier, topic_scope=scope, now=now
            )
            # Applied at most once per id (claimed before it runs: a crash in between loses the
            # command rather than running it twice), remembered until it could not pass the
            # freshness check anyway.
            if not self._versions.claim_command(command.id, command.not_after, now, keep=2 * self._verifier.skew):
                raise PushRejected("duplicate", f"command {command.id} was already applied")
        except PushRejected as exc:
            self._counters.refused_commands += 1
            if exc.reason in FORGERY_REASONS:
                self._reporter.report("forged_command", {"topic": message.topic, "reason": exc.reason})
            return self._reply("cmd", PushOutcome("command", None, "rejected", exc.reason, exc.detail), message.topic)
        _LOG.info("HQ command %s (%s)", command.command, command.id)
        self._on_command(command)
        return self._reply("cmd", PushOutcome("command", None, "applied", None, command.id), message.topic)

    def _reply(self, route: str, outcome: PushOutcome, topic: str) -> Routed:
        if outcome.status == "applied" or self._answers.take():
            if outcome.status == "rejected":
                _LOG.warning(
                    "refused %s on %s: %s %s", outcome.doc_type or route, topic, outcome.reason, outcome.detail or ""
                )
            self._answer(
                PushAck(
                    self._topics.device_id,
                    outcome.doc_type,
                    outcome.version,
                    outcome.status,
                    outcome.reason,
                    outcome.detail,
                    topic,
                    self._clock.now(),
                )
            )
        else:
            self._counters.push_acks_suppressed += 1
        return Routed(route, outcome.status, outcome.reason, outcome.detail)
