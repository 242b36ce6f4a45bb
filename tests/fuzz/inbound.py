"""A kiosk's inbound side, assembled from the real sync parts over a real Ledger, for fuzzing.

`Receiver.receive(topic, payload)` hands a broker message to the same objects `sync.link`'s
worker uses: `InboundGate` (size per kind), then the real `InboundRouter` (topic -> signed event
ack, signed command or signed document) with a real `PushHandler`, `VersionStore`, `OutboxRelay`
and `SecurityReporter`; verified acks then go through the relay as in `_Worker._tick`. Only the
MQTT client and the worker thread are left out. It returns what the kiosk did, including the
push-ack body it would publish, so a test can check that every message ends in a reasoned answer.
`tests/fuzz/test_mqtt_fuzz.py::test_corpus_over_a_real_broker` replays the corpus through a
real `HqLink` as well, so the wiring here cannot quietly drift from the link's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules
from sync.acks import ACK_CONTEXT, MAX_ACK_EVENTS, AckedEvent, sign_event_ack
from sync.alerts import LinkCounters, SecurityReporter
from sync.commands import COMMAND_CONTEXT, MAX_LIFETIME, VerifiedCommand, sign_command
from sync.envelope import SIGNING_CONTEXT, EnvelopeVerifier, sign_envelope
from sync.errors import PayloadError, TopicError
from sync.inbound import PushHandler
from sync.link import MAX_QUEUED_INBOUND, QUEUE_HEADROOM_BYTES
from sync.mqtt_client import Message
from sync.relay import OutboxRelay
from sync.router import InboundGate, InboundRouter
from sync.schemas import PushAck, dumps
from sync.signing import sign_object
from sync.state import VersionStore
from sync.topics import KioskTopics, Scope

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 1, 10, 0, tzinfo=TZ)
PREFIX = "acme/kiosk"
DEVICE = "K001"
STORE = "S01"
#: HQ's signing key for the fuzz suites (a test key, nowhere else used).
HQ_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
TOPICS = KioskTopics(PREFIX, DEVICE, STORE)
MAX_PUSH_BYTES = 256 * 1024
#: The router's budget for answers that are not "applied" (a token bucket). The fixed clock never
#: refills it, so its burst (4 x this) must outlast every message a test sends.
ANSWERS_PER_S = 1e9
#: The signing context of each kind HQ signs (a signature under one never verifies as another).
CONTEXTS = {"document": SIGNING_CONTEXT, "event_ack": ACK_CONTEXT, "command": COMMAND_CONTEXT}


class FixedClock:
    """The store's clock, standing still: envelopes in the corpus stay valid for ever."""

    def now(self) -> dt.datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0


@dataclass(frozen=True)
class Received:
    """What the kiosk did with one message (`sync.router.Routed` plus the answer it published)."""

    route: str  # "topic" (not ours), "ack", "cmd" or "document"
    status: str  # applied | current | rejected (answered with a push-ack), acked | ignored (no answer)
    reason: str | None = None
    detail: str | None = None
    push_ack: bytes | None = None  # the body the kiosk would publish on its push-ack topic


class Receiver:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        clock = FixedClock()
        self.ledger = Ledger.open(
            folder / "ledger.db",
            device_id=DEVICE,
            clock=clock,
            tz=TZ,
            voucher_key=Ed25519PrivateKey.from_private_bytes(bytes(32)),
            offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
        )
        self.versions = VersionStore(folder / "sync-state.sqlite")
        verifier = EnvelopeVerifier([HQ_KEY.public_key()], device_id=DEVICE, store_id=STORE)
        self.handler = PushHandler(
            verifier=verifier, versions=self.versions, ledger=self.ledger, clock=clock, max_bytes=MAX_PUSH_BYTES
        )
        self.published: list[tuple[str, bytes]] = []
        self.relay = OutboxRelay(
            outbox=self.ledger,
            publish=lambda t, p: self.published.append((t, p)),
            topic=TOPICS.events,
            device_id=DEVICE,
            clock=clock,
        )
        self.counters = LinkCounters()
        # The link's own bounds (sync.link wires the gate from the same constants).
        self.gate = InboundGate(
            max_document_bytes=MAX_PUSH_BYTES,
            counters=self.counters,
            max_queued_bytes=MAX_PUSH_BYTES + QUEUE_HEADROOM_BYTES,
            max_queued=MAX_QUEUED_INBOUND,
        )
        #: Commands the router handed on to be carried out, in order.
        self.commands: list[VerifiedCommand] = []
        self._answers: list[bytes] = []
        self.router = InboundRouter(
            topics=TOPICS,
            verifier=verifier,
            handler=self.handler,
            versions=self.versions,
            clock=clock,
            counters=self.counters,
            reporter=SecurityReporter(self.ledger, clock, self.counters),
            answer=self._publish_push_ack,
            on_command=self.commands.append,
            answers_per_s=ANSWERS_PER_S,
        )

    def close(self) -> None:
        self.versions.close()
        self.ledger.close()

    def receive(self, topic: str, payload: bytes, *, retain: bool = False) -> Received:
        """One message as the broker delivers it: gate, router, then (for acks) the relay."""
        item = self.gate.admit(Message(topic, payload, qos=1, retain=retain))
        assert item is not None, "one message at a time never exceeds the queue's budget"
        self.gate.done(item)
        answered = len(self._answers)
        routed = self.router.route(item)
        acks = self.router.take_acks()
        if acks:
            self.relay.acked(acks)
        answers = self._answers[answered:]
        assert len(answers) <= 1, f"{len(answers)} push-acks for one message"
        return Received(routed.route, routed.status, routed.reason, routed.detail, answers[0] if answers else None)

    def outbox_ids(self) -> set[str]:
        """The event ids waiting in the outbox (all of them: the fuzz kiosks hold few)."""
        return {event.event_id for event in self.ledger.outbox_pending(100_000)}

    def _publish_push_ack(self, ack: PushAck) -> None:
        # What the link's worker publishes: it must encode whatever the message carried.
        self._answers.append(dumps(ack.to_json()))


def topic_for(doc_type_or_level: str, scope: Scope = Scope.fleet()) -> str:
    return f"{PREFIX}/hq/{scope.topic_part}/{doc_type_or_level}"


def envelope(
    doc_type: str,
    version: int,
    payload: Any,
    *,
    scope: Scope = Scope.fleet(),
    issued_at: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: Ed25519PrivateKey = HQ_KEY,
) -> dict[str, Any]:
    """A correctly signed envelope (as a dict, so a test can still tamper with it)."""
    return sign_envelope(
        key,
        doc_type=doc_type,
        scope=scope,
        version=version,
        issued_at=issued_at or NOW - dt.timedelta(hours=1),
        not_after=not_after or NOW + dt.timedelta(days=1),
        payload=payload,
    )


def event_ack(
    events: Sequence[AckedEvent],
    *,
    device_id: str = DEVICE,
    issued_at: dt.datetime | None = None,
    key: Ed25519PrivateKey = HQ_KEY,
) -> dict[str, Any]:
    """An event ack signed like HQ signs it; beyond HQ's 1..MAX_ACK_EVENTS, signed all the same."""
    at = issued_at or NOW
    if 1 <= len(events) <= MAX_ACK_EVENTS:
        return sign_event_ack(key, device_id=device_id, events=events, issued_at=at)
    signed = sign_event_ack(key, device_id=device_id, events=[AckedEvent(1, "e-1")], issued_at=at)
    return resign(signed, "event_ack", key, events=[{"seq": e.seq, "event_id": e.event_id} for e in events])


def command(
    name: str,
    command_id: str,
    *,
    scope: Scope = Scope.device(DEVICE),
    issued_at: dt.datetime | None = None,
    lifetime: dt.timedelta = dt.timedelta(minutes=10),
    key: Ed25519PrivateKey = HQ_KEY,
) -> dict[str, Any]:
    """A command signed like HQ signs it; a lifetime beyond HQ's limit is signed all the same."""
    at = issued_at or NOW
    if dt.timedelta(0) < lifetime <= MAX_LIFETIME:
        return sign_command(key, command=name, command_id=command_id, scope=scope, issued_at=at, lifetime=lifetime)
    signed = sign_command(key, command=name, command_id=command_id, scope=scope, issued_at=at)
    return resign(signed, "command", key, not_after=(at + lifetime).isoformat())


def resign(signed: dict[str, Any], kind: str, key: Ed25519PrivateKey = HQ_KEY, **fields: Any) -> dict[str, Any]:
    """`signed` with `fields` replaced and signed again under `kind`'s context (see CONTEXTS).

    What a key holder could sign that HQ's own signing functions refuse to build, or a signature
    made for another kind of message over the same fields.
    """
    unsigned = {k: v for k, v in signed.items() if k not in ("key_id", "sig")}
    return sign_object(key, CONTEXTS[kind], {**unsigned, **fields})


def wire(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


#: What every kiosk under test holds first: version SEEDED of rules, members and deny-list.
SEEDED = 5
SEED_DOCUMENTS = (
    ("rules", {"document": demo_rules()}),
    ("members", {"members": [{"member_id": "M1", "name": "张三明"}], "acknowledged_event_ids": []}),
    ("denylist", {"entries": [{"uid": "04a1b2c3", "reason": "lost"}]}),
)


def seed_messages() -> list[tuple[str, bytes]]:
    return [(topic_for(doc_type), wire(envelope(doc_type, SEEDED, payload))) for doc_type, payload in SEED_DOCUMENTS]


def seed(receiver: Receiver) -> None:
    """The seed documents, applied through signed pushes like HQ would."""
    for topic, payload in seed_messages():
        result = receiver.receive(topic, payload)
        assert result.status == "applied", result


# --- HQ's side: what kiosks publish, as sync.hq.listener takes it --------------------------------


def hq_take(store: Any, topic: str, payload: bytes) -> str:
    """Route and store one kiosk message the way `HqListener._take` does; returns what happened.

    A copy (the listener's method is private and needs its MQTT client): each body is bound to
    the device of its topic and a status may not move a kiosk to another store, as there.

    PayloadError and TopicError mean "ignored"; anything else escapes, as it would escape the
    listener's thread and stop it (for every kiosk).
    """
    from sync.hq.store import HqStore
    from sync.schemas import parse_event, parse_push_ack, parse_status, parse_telemetry
    from sync.topics import HqTopics

    assert isinstance(store, HqStore)
    try:
        device_id, kind = HqTopics(PREFIX).parse_kiosk(topic)
        if kind == "events":
            event = parse_event(payload)
            if event.device_id != device_id:
                raise PayloadError(f"event says {event.device_id}, topic says {device_id}")
            store.record_events([event], NOW)
        elif kind == "push-ack":
            ack = parse_push_ack(payload)
            if ack.device_id != device_id:
                raise PayloadError(f"push-ack says {ack.device_id}, topic says {device_id}")
            store.record_push_ack(ack, NOW)
        elif kind == "status" and payload:
            status = parse_status(payload)
            if status.device_id != device_id:
                raise PayloadError(f"status says {status.device_id}, topic says {device_id}")
            known = store.device_store(device_id)
            if known is not None and status.store_id != known:
                store.raise_alarm("store_claim", device_id, f"claims {status.store_id}, known in {known}", NOW)
                raise PayloadError(f"status claims store {status.store_id}, HQ knows {device_id} in {known}")
            store.record_status(device_id, status.store_id, status.state, status.at)
        elif kind == "telemetry" and payload:
            body = parse_telemetry(payload)
            if body["device_id"] != device_id:
                raise PayloadError(f"telemetry says {body['device_id']}, topic says {device_id}")
            store.record_telemetry(device_id, body, NOW)
        return "stored"
    except (PayloadError, TopicError):
        return "ignored"
