"""A kiosk's inbound side, assembled from the real sync parts over a real Ledger, for fuzzing.

`Receiver.receive(topic, payload)` routes a broker message the way `sync.link`'s worker does
(`_Worker._on_message`, which is private and needs a connected client): topic -> event ack,
command or signed document. It returns what the kiosk would do, including the push-ack body it
would publish, so a test can check that every message ends in a reasoned answer.
`tests/fuzz/test_mqtt_fuzz.py::test_corpus_over_a_real_broker` replays the corpus through the
real `HqLink` as well, so this routing cannot quietly drift from the link's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules
from sync.envelope import EnvelopeVerifier, sign_envelope
from sync.errors import PayloadError, TopicError
from sync.inbound import PushHandler, PushOutcome
from sync.relay import OutboxRelay
from sync.schemas import COMMANDS, PushAck, dumps, parse_command, parse_event_ack
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


class FixedClock:
    """The store's clock, standing still: envelopes in the corpus stay valid for ever."""

    def now(self) -> dt.datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0


@dataclass(frozen=True)
class Received:
    """What the kiosk did with one message."""

    route: str  # "topic" (not ours), "ack", "cmd" or "document"
    status: str  # applied | current | rejected (answered with a push-ack), acked | ignored (no answer)
    reason: str | None = None
    detail: str | None = None
    push_ack: bytes | None = None  # the body the kiosk would publish on its push-ack topic


class Receiver:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger.open(
            folder / "ledger.db",
            device_id=DEVICE,
            clock=FixedClock(),
            tz=TZ,
            voucher_key=Ed25519PrivateKey.from_private_bytes(bytes(32)),
            offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
        )
        self.versions = VersionStore(folder / "sync-state.sqlite")
        self.handler = PushHandler(
            verifier=EnvelopeVerifier([HQ_KEY.public_key()], device_id=DEVICE, store_id=STORE),
            versions=self.versions,
            ledger=self.ledger,
            clock=FixedClock(),
            max_bytes=256 * 1024,
        )
        self.published: list[tuple[str, bytes]] = []
        self.relay = OutboxRelay(
            outbox=self.ledger,
            publish=lambda t, p: self.published.append((t, p)),
            topic=TOPICS.events,
            device_id=DEVICE,
            clock=FixedClock(),
        )

    def close(self) -> None:
        self.versions.close()
        self.ledger.close()

    def receive(self, topic: str, payload: bytes) -> Received:
        try:
            inbound = TOPICS.parse(topic)
        except TopicError as exc:
            return self._answer("topic", PushOutcome(None, None, "rejected", "unexpected_topic", str(exc)), topic)
        if inbound.kind == "ack":
            try:
                ids = parse_event_ack(payload)
            except PayloadError as exc:
                return Received("ack", "ignored", "malformed", str(exc))
            self.relay.acked(ids)
            return Received("ack", "acked")
        if inbound.kind == "cmd":
            try:
                command = parse_command(payload)
            except PayloadError as exc:
                return self._answer("cmd", PushOutcome("command", None, "rejected", "malformed", str(exc)), topic)
            if command.command not in COMMANDS:
                return self._answer(
                    "cmd", PushOutcome("command", None, "rejected", "unknown_command", command.command), topic
                )
            return self._answer("cmd", PushOutcome("command", None, "applied", None, command.id), topic)
        if not payload:
            return Received("document", "ignored", "retained_cleared")
        assert inbound.doc_type is not None
        return self._answer("document", self.handler.handle(inbound.doc_type, inbound.scope, payload), topic)

    def _answer(self, route: str, outcome: PushOutcome, topic: str) -> Received:
        ack = PushAck(
            DEVICE, outcome.doc_type, outcome.version, outcome.status, outcome.reason, outcome.detail, topic, NOW
        )
        return Received(route, outcome.status, outcome.reason, outcome.detail, dumps(ack.to_json()))


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
            store.record_push_ack(parse_push_ack(payload), NOW)
        elif kind == "status" and payload:
            status = parse_status(payload)
            store.record_status(device_id, status.store_id, status.state, status.at)
        elif kind == "telemetry" and payload:
            store.record_telemetry(device_id, parse_telemetry(payload), NOW)
        return "stored"
    except (PayloadError, TopicError):
        return "ignored"
