"""Fuzzing what the kiosk receives from the broker: signed HQ documents (rules, members,
deny-list), signed event acks and signed commands, on any topic (and, at the end, what HQ's
listener receives from kiosks). Every message ends in a reasoned answer: a push-ack with a
documented reason (never `apply_failed`, which would mean an unexpected exception behind the
handler's last-resort catch), a verified ack, or "ignored" with a reason. Nothing that does not
verify under HQ's key ever removes an outbox event or runs a command. The ledger is the real one
(SQLite in a temporary folder), the routing the link's own `sync.router.InboundRouter`; HQ's
signatures are real Ed25519.

Corpus cases (corpus/mqtt/*.json) are replayed twice: through `tests.fuzz.inbound.Receiver`
(fresh kiosk per case) and, in one integration test, through a real `HqLink` on a real Mosquitto.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given
from hypothesis import strategies as st

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules
from sync.acks import MAX_ACK_EVENTS, AckedEvent
from sync.commands import COMMANDS, MAX_LIFETIME
from sync.envelope import DOCUMENT_TYPES, key_id
from sync.topics import DOCUMENT_TOPICS, Scope
from tests.fuzz.fuzzing import corpus, fuzz_settings
from tests.fuzz.inbound import (
    CONTEXTS,
    DEVICE,
    HQ_KEY,
    MAX_PUSH_BYTES,
    NOW,
    PREFIX,
    SEEDED,
    STORE,
    TZ,
    FixedClock,
    Received,
    Receiver,
    command,
    envelope,
    event_ack,
    hq_take,
    resign,
    seed,
    seed_messages,
    topic_for,
    wire,
)

OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(200, 232)))
#: docs/mqtt.md "Kiosk checks, in order, and rejection reasons", without `apply_failed`: that one
#: means "the disk or database failed", never "the message was bad".
REASONS = {
    "oversized",
    "malformed",
    "unexpected_type",
    "unsigned",
    "unknown_key",
    "bad_signature",
    "wrong_scope",
    "not_yet_valid",
    "expired",
    "not_newer",
    "version_conflict",
    "base_mismatch",
    "invalid_payload",
    "unexpected_topic",
    # commands (sync.commands.verify_command, then once per id)
    "retained",
    "too_long_lived",
    "unknown_command",
    "duplicate",
}
#: Why an event ack was ignored (never answered, never applied): sync.acks.verify_event_ack.
ACK_REASONS = {"oversized", "malformed", "unsigned", "unknown_key", "bad_signature", "wrong_device"}
#: Why a message was ignored at all: an ack that does not verify, or a retained document cleared.
IGNORED_REASONS = ACK_REASONS | {"retained_cleared"}
#: What a command may be refused as (sync.commands.verify_command, then once per id).
COMMAND_REASONS = {
    "retained",
    "oversized",
    "malformed",
    "unsigned",
    "unknown_key",
    "bad_signature",
    "wrong_scope",
    "too_long_lived",
    "not_yet_valid",
    "expired",
    "unknown_command",
    "duplicate",
}
SKEW = dt.timedelta(seconds=300)  # EnvelopeVerifier's default, which the Receiver and the link use
DEVICE_ACK_TOPIC = topic_for("ack", Scope.device(DEVICE))
COMMAND_TOPICS = [topic_for("cmd"), topic_for("cmd", Scope.store(STORE)), topic_for("cmd", Scope.device(DEVICE))]


def check(received: Received) -> Received:
    """The properties every message must have, whatever it was."""
    assert received.status in ("applied", "current", "rejected", "acked", "ignored"), received
    if received.status == "rejected":
        assert received.reason in REASONS, received
    if received.status in ("applied", "current", "rejected"):
        assert received.push_ack is not None, received  # answered (nothing was suppressed)
        ack = json.loads(received.push_ack)  # the push-ack could be written
        assert (ack["status"], ack["reason"]) == (received.status, received.reason)
    else:
        assert received.push_ack is None
    if received.status == "ignored":
        assert received.reason in IGNORED_REASONS, received
    if received.route == "ack":
        assert received.status in ("acked", "ignored"), received  # an ack is never answered
    if received.route == "cmd":
        assert received.status == "applied" or received.reason in COMMAND_REASONS, received
    return received


# --- corpus ----------------------------------------------------------------------------------------

#: corpus/README.md: what a case may ask to be signed, and under which context `edit` re-signs it.
SIGNED = {"envelope": "document", "command": "command", "event_ack": "event_ack"}


def build(case: dict[str, Any]) -> tuple[str, bytes]:
    """Topic and payload of a corpus case (see corpus/README.md)."""
    topic = f"{PREFIX}/{case['topic']}"
    if "payload_text" in case:
        return topic, case["payload_text"].encode("utf-8")
    if "payload_hex" in case:
        return topic, bytes.fromhex(case["payload_hex"])
    if "payload_parts" in case:
        return topic, b"".join(text.encode("utf-8") * times for text, times in case["payload_parts"])
    if "payload_json" in case:
        return topic, wire(case["payload_json"])
    (kind,) = [k for k in SIGNED if k in case]
    spec = case[kind]
    key = OTHER_KEY if spec.get("signer") == "other" else HQ_KEY
    signed = _sign(kind, spec, key)
    if "edit" in case:  # fields replaced, then signed again: the signature holds
        signed = resign(signed, SIGNED[kind], key, **case["edit"])
    if "context" in spec:  # the same fields, signed for another kind of message
        signed = resign(signed, spec["context"], key)
    for field in case.get("drop", ()):
        del signed[field]
    for field, value in case.get("tamper", {}).items():
        # "HQ" as a key_id stands for the configured HQ key's id (it is derived, not fixed text).
        signed[field] = key_id(HQ_KEY.public_key()) if (field, value) == ("key_id", "HQ") else value
    return topic, wire(signed)


def _sign(kind: str, spec: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    if kind == "envelope":
        issued = NOW + dt.timedelta(hours=spec.get("issued_hours", -1))
        return envelope(
            spec["type"],
            spec["version"],
            spec["payload"],
            scope=Scope(**spec["scope"]) if "scope" in spec else Scope.fleet(),
            issued_at=issued,
            not_after=issued + dt.timedelta(hours=spec.get("valid_hours", 25)),
            key=key,
        )
    if kind == "command":
        return command(
            spec["command"],
            spec["id"],
            scope=Scope(**spec["scope"]) if "scope" in spec else Scope.device(DEVICE),
            issued_at=NOW + dt.timedelta(minutes=spec.get("issued_minutes", 0)),
            lifetime=dt.timedelta(minutes=spec.get("lifetime_minutes", 10)),
            key=key,
        )
    events = [AckedEvent(seq, event_id) for seq, event_id in spec.get("events", ())]
    events += [AckedEvent(n, f"no-such-event-{n}") for n in range(1, spec.get("count", 0) + 1)]
    return event_ack(events, device_id=spec.get("device_id", DEVICE), key=key)


def expected(case: dict[str, Any]) -> tuple[str, str, str | None]:
    e = case["expect"]
    return e["route"], e["status"], e["reason"]


CASES = corpus("mqtt", "*.json")


@pytest.mark.parametrize("case_file", CASES)
def test_corpus_message(case_file: Path, tmp_path: Path):
    case = json.loads(case_file.read_text(encoding="utf-8"))
    receiver = Receiver(tmp_path)
    try:
        seed(receiver)
        received = check(receiver.receive(*build(case), retain=case.get("retain", False)))
        assert (received.route, received.status, received.reason) == expected(case), received.detail
        # Whatever happened, the kiosk still holds consistent versions it can report.
        assert receiver.handler.current_version("rules") >= SEEDED
        assert len(receiver.commands) == (received.route == "cmd" and received.status == "applied")
    finally:
        receiver.close()


def test_corpus_command_ids_are_unique():
    # The broker replay sends every case to one kiosk: a reused id would be refused as a duplicate.
    cases = [json.loads(p.values[0].read_text(encoding="utf-8")) for p in CASES]
    ids = [c["command"]["id"] for c in cases if "command" in c]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def _delivered(topic: str) -> bool:
    """Whether the broker hands `topic` to the kiosk (its three subscriptions, no wildcards)."""
    own = (f"{PREFIX}/hq/fleet/", f"{PREFIX}/hq/store/{STORE}/", f"{PREFIX}/hq/device/{DEVICE}/")
    return topic.startswith(own) and not any(c in topic for c in "+#\0")


class SteppingClock:
    """The fixed store time (the corpus is signed around NOW) over a monotonic clock that moves.

    Every look at `monotonic` is a second later, so the router's answer budget (a token bucket the
    link does not let a test size) refills between messages and every case is answered. The link
    is given an ack timeout nothing reaches: no HQ acknowledges its events in this test.
    """

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> dt.datetime:
        return NOW

    def monotonic(self) -> float:
        return float(next(self._ticks))


@pytest.mark.integration
def test_corpus_over_a_real_broker(tmp_path: Path):
    """The corpus through a real HqLink: the same answers as the Receiver gives, in order."""
    from sync.link import HqLink
    from sync.mqtt_client import ConnectionSettings, MqttClient
    from tests.sync.broker import Mosquitto
    from tests.sync.conftest import wait_until

    cases = [json.loads(p.values[0].read_text(encoding="utf-8")) for p in CASES]
    # A retained message reaches a subscription that already exists with its retain flag cleared
    # (MQTT 3.1.1 3.3.1.3; MQTT 5 without Retain As Published), so "retained" cannot be replayed
    # to a connected kiosk; the Receiver cases cover it.
    cases = [c for c in cases if _delivered(f"{PREFIX}/{c['topic']}") and not c.get("retain")]
    # Cases that change the kiosk's versions go last, so every other one meets the seeded state.
    cases.sort(key=lambda c: c["expect"]["status"] == "applied")
    answered = [c for c in cases if expected(c)[1] in ("applied", "current", "rejected")]

    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    acks: list[dict[str, Any]] = []
    observer = MqttClient(
        ConnectionSettings(
            "fuzz-observer",
            broker.host,
            broker.port,
            persistent_session=False,
            subscriptions=[(f"{PREFIX}/kiosk/{DEVICE}/push-ack", 1)],
        ),
        on_message=lambda m: acks.append(json.loads(m.payload)),
    )
    hq = MqttClient(ConnectionSettings("fuzz-hq", broker.host, broker.port, persistent_session=False))
    link = HqLink(
        device_id=DEVICE,
        store_id=STORE,
        host=broker.host,
        port=broker.port,
        tls=None,
        username=None,
        password=None,
        keepalive_s=5,
        topic_prefix=PREFIX,
        hq_public_keys=[HQ_KEY.public_key()],
        software_version="9.9.9",
        ledger_factory=lambda: Ledger.open(
            tmp_path / "ledger.db",
            device_id=DEVICE,
            clock=FixedClock(),
            tz=TZ,
            voucher_key=Ed25519PrivateKey.from_private_bytes(bytes(32)),
            offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
        ),
        telemetry_source=lambda: {},
        clock=SteppingClock(),
        drain_rate_per_s=None,
        state_path=tmp_path / "sync-state.sqlite",
        telemetry_interval_s=10**9,
        ack_timeout_s=10**9,
        max_push_bytes=MAX_PUSH_BYTES,
        reconnect_min_s=1,
        reconnect_max_s=2,
    )
    try:
        observer.start()
        hq.start()
        assert observer.wait_connected(10) and hq.wait_connected(10)
        link.start()
        wait_until(lambda: link.online, what="link online")
        for topic, payload in seed_messages():
            hq.publish_and_wait(topic, payload, qos=1)
        wait_until(lambda: len(acks) >= 3, what="seed acks")
        assert [a["status"] for a in acks] == ["applied"] * 3
        for case in cases:
            hq.publish_and_wait(*build(case), qos=1)
        wait_until(lambda: len(acks) >= 3 + len(answered), what="an answer to every case")
        got = [(a["status"], a["reason"]) for a in acks[3:]]
        assert got == [expected(c)[1:] for c in answered]
        assert link.counters.push_acks_suppressed == 0
        assert link.online
    finally:
        link.stop()
        hq.stop()
        observer.stop()
        broker.stop()


# --- generated inputs ------------------------------------------------------------------------------

VERSIONS = itertools.count(100)  # every signed example is newer than anything before it


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory):
    kiosk = Receiver(tmp_path_factory.mktemp("mqtt-fuzz"))
    seed(kiosk)
    yield kiosk
    kiosk.close()


INBOUND_TOPICS = (
    [topic_for(level) for level in DOCUMENT_TOPICS.values()]
    + [topic_for(level, Scope.store(STORE)) for level in DOCUMENT_TOPICS.values()]
    + [topic_for(level, Scope.device(DEVICE)) for level in DOCUMENT_TOPICS.values()]
    + [
        topic_for("cmd"),
        topic_for("cmd", Scope.store(STORE)),
        topic_for("cmd", Scope.device(DEVICE)),
        topic_for("ack", Scope.device(DEVICE)),
    ]
)
LEVELS = st.sampled_from(
    [
        "hq",
        "fleet",
        "store",
        "device",
        STORE,
        "S02",
        DEVICE,
        "K002",
        "rules",
        "members",
        "members-update",
        "denylist",
        "denylist-delta",
        "voucher-keys",
        "cmd",
        "ack",
        "kiosk",
        "",
        "+",
        "#",
        "..",
        "\0",
        "星",
        "$SYS",
    ]
) | st.text(max_size=6)
TOPICS = st.one_of(
    st.sampled_from(INBOUND_TOPICS),
    st.lists(LEVELS, max_size=5).map(lambda levels: "/".join([PREFIX] + levels)),
    st.text(max_size=40),
)


@fuzz_settings(300)
@given(TOPICS, st.binary(max_size=300))
def test_any_bytes_on_any_topic(receiver, topic, payload):
    check(receiver.receive(topic, payload))


JSON_KEYS = st.sampled_from(
    [
        "v",
        "type",
        "scope",
        "version",
        "issued_at",
        "not_after",
        "key_id",
        "sig",
        "payload",
        "command",
        "id",
        "event_ids",
        "kind",
        "document",
        "members",
        "entries",
    ]
) | st.text(max_size=4)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["rules", "fleet", "2026-03-01T10:00:00+08:00", "resync", key_id(HQ_KEY.public_key()), "AAAA"]),
)
JSON = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=5), max_leaves=12
)


@fuzz_settings(300)
@given(
    st.sampled_from(INBOUND_TOPICS), st.dictionaries(JSON_KEYS, JSON, max_size=8), st.sampled_from([1, 1, 1, 2, True])
)
def test_json_objects_on_inbound_topics(receiver, topic, obj, schema_version):
    obj["v"] = schema_version
    check(receiver.receive(topic, json.dumps(obj).encode("utf-8")))


# Signed documents: the signature holds, so the payload reaches the ledger's validation.

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # signable: no lone surrogates
TIMES = st.sampled_from(
    [
        "2026-01-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
        "2026-01-01T00:00:00",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+14:00",
        "yesterday",
        "",
    ]
)
NASTY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(-(2**70), 2**70),
    TEXT,
    TIMES,
    st.sampled_from(["04a1b2c3", "04A1B2C3D4E5F6", "active", "lost", "used", "NaN", "1e999", "-0"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)
SIGNABLE = st.recursive(
    NASTY, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
LOT = st.fixed_dictionaries(
    {
        "lot_id": TEXT | NASTY,
        "points": st.integers(0, 10**6) | NASTY,
        "earned_at": TIMES | NASTY,
        "expires_at": TIMES | NASTY,
    }
)
CARD = st.fixed_dictionaries(
    {"uid": st.sampled_from(["04a1b2c3", "04112233445566"]) | NASTY},
    optional={"issue_no": NASTY, "status": NASTY, "last_counter": NASTY},
)
VOUCHER = st.fixed_dictionaries(
    {"voucher_id": NASTY, "state": st.sampled_from(["used", "expired", "reversed"]) | NASTY},
    optional={"at": TIMES | NASTY, "store_id": TEXT | NASTY, "till_id": TEXT | NASTY},
)
MEMBER = st.fixed_dictionaries(
    {"member_id": st.sampled_from(["M1", "M2", "M3"]) | NASTY, "name": st.just("王五") | NASTY},
    optional={
        "birthday": NASTY,
        "balance_fen": NASTY,
        "spend_fen": NASTY,
        "growth_points": NASTY,
        "tier_floor": NASTY,
        "tier_override": NASTY,
        "lots": st.lists(LOT, max_size=2) | NASTY,
        "cards": st.lists(CARD, max_size=2) | NASTY,
        "vouchers": st.lists(VOUCHER, max_size=2) | NASTY,
        "deleted": NASTY,
        "extra": NASTY,
    },
)
MEMBERS = st.fixed_dictionaries(
    {"members": st.lists(MEMBER | NASTY, max_size=3), "acknowledged_event_ids": st.lists(TEXT, max_size=2)}
)
KEY_ENTRY = st.fixed_dictionaries(
    {
        "device_id": st.sampled_from([DEVICE, "K002"]) | NASTY,
        "store_id": st.just(STORE) | NASTY,
        "public_key": st.just("A" * 43 + "=") | NASTY,
        "valid_from": TIMES | NASTY,
    },
    optional={"valid_until": TIMES | NASTY, "revoked_at": TIMES | NASTY, "reason": TEXT | NASTY},
)
ENTRY = st.one_of(
    st.fixed_dictionaries({"uid": st.sampled_from(["04a1b2c3", "04a1b2c5"]) | NASTY, "reason": TEXT | NASTY}),
    st.tuples(NASTY, NASTY).map(list),
    NASTY,
)


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, path + (index,))
    return found


RULE_PATHS = _paths(demo_rules())


def _mutated_rules(edits: list[tuple[tuple, str, Any]]) -> dict[str, Any]:
    doc = demo_rules()
    for path, op, value in edits:
        parent: Any = doc
        for part in path[:-1]:
            if not isinstance(parent, (dict, list)):
                break
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            if isinstance(parent, dict) and op == "delete":
                parent.pop(last, None)
            elif isinstance(parent, dict) or (
                isinstance(parent, list) and isinstance(last, int) and last < len(parent)
            ):
                parent[last] = value
    return {"document": doc}


RULES = st.lists(
    st.tuples(st.sampled_from(RULE_PATHS), st.sampled_from(["set", "delete"]), SIGNABLE), min_size=1, max_size=3
).map(_mutated_rules)


@st.composite
def signed_documents(draw) -> tuple[str, dict[str, Any]]:
    doc_type = draw(st.sampled_from(DOCUMENT_TYPES))
    if doc_type == "rules":
        payload = draw(RULES)
    elif doc_type in ("members", "members_update"):
        payload = draw(MEMBERS)
    elif doc_type == "denylist":
        payload = {"entries": draw(st.lists(ENTRY, max_size=3))}
    elif doc_type == "voucher_keys":
        payload = {"keys": draw(st.lists(KEY_ENTRY | NASTY, max_size=3))}
    else:
        payload = {
            "base_version": draw(st.sampled_from(["current", 0, 1, 2**62]) | st.integers(0, 200)),
            "added": draw(st.lists(ENTRY, max_size=2)),
            "removed": draw(st.lists(NASTY, max_size=2)),
        }
    return doc_type, payload


@fuzz_settings(150, weight=0.25)
@given(signed_documents(), st.data())
def test_signed_documents_with_fuzzed_payloads(receiver, document, data):
    doc_type, payload = document
    if payload.get("base_version") == "current":
        payload["base_version"] = receiver.handler.current_version("denylist")
    version = next(VERSIONS)
    scope = data.draw(st.sampled_from([Scope.fleet(), Scope.store(STORE), Scope.device(DEVICE)]))
    topic = topic_for(DOCUMENT_TOPICS[doc_type], scope)
    received = check(receiver.receive(topic, wire(envelope(doc_type, version, payload, scope=scope))))
    assert received.status in ("applied", "rejected"), received
    line = {"members_update": "members", "denylist_delta": "denylist"}.get(doc_type, doc_type)
    assert (receiver.handler.current_version(line) >= version) == (received.status == "applied")


ENVELOPE_FIELDS = ["v", "type", "scope", "version", "issued_at", "not_after", "key_id", "sig", "payload"]


@fuzz_settings(200, weight=0.5)
@given(
    st.lists(
        st.tuples(st.sampled_from(ENVELOPE_FIELDS + ["extra"]), st.sampled_from(["set", "delete"]), JSON),
        min_size=1,
        max_size=3,
    )
)
def test_tampered_envelope_fields(receiver, edits):
    signed = envelope("rules", next(VERSIONS), {"document": demo_rules()})
    original = copy.deepcopy(signed)
    for field, op, value in edits:
        if op == "delete":
            signed.pop(field, None)
        else:
            signed[field] = value
    received = check(receiver.receive(topic_for("rules"), wire(signed)))
    if signed != original:
        assert received.status == "rejected", received


@fuzz_settings(60)
@given(st.integers(1, 5000), st.sampled_from(["[", '{"a":']))
def test_deeply_nested_payload_with_a_known_key_id(receiver, depth, opener):
    # Passes parsing and the key lookup, so the nesting reaches canonical encoding.
    closer = "]" if opener == "[" else "}"
    body = opener * depth + "1" + closer * depth
    signed = envelope("rules", next(VERSIONS), {"document": demo_rules()})
    raw = wire({**signed, "payload": "PLACEHOLDER"}).replace(b'"PLACEHOLDER"', ('{"document":' + body + "}").encode())
    received = check(receiver.receive(topic_for("rules"), raw))
    assert received.status == "rejected", received


# Event acks: HQ's signature decides whether anything leaves the outbox.

EVENT_IDS = TEXT | st.sampled_from(["", "e-1", "K001-1", "另一个"])
SEQS = st.integers(1, 2**62) | st.sampled_from([1, 2, 3])
ACKED = st.builds(AckedEvent, SEQS, EVENT_IDS)
WELL_FORMED_ACKED = st.builds(AckedEvent, SEQS, EVENT_IDS.filter(bool))
# (The ledger's own event ids are uuid4 text, 36 characters: these never name one by chance.)


def garbage_ack(draw: st.DrawFn, real: list[AckedEvent]) -> bytes:
    """An ack payload that must not verify: unsigned, another key, tampered, another context, noise.

    `real` are events the kiosk holds: every kind of forgery names them too.
    """
    events = real + draw(st.lists(ACKED, max_size=3))
    kind = draw(st.sampled_from(["unsigned", "other_key", "claims_hq", "tampered", "other_context", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        obj = draw(st.dictionaries(JSON_KEYS, JSON, max_size=6))
        obj.update(v=1, type="event_ack", device_id=DEVICE, issued_at="2026-03-01T10:00:00+08:00")
        obj["events"] = [{"seq": e.seq, "event_id": e.event_id} for e in events]
        return wire(obj)
    if not events:
        events = [AckedEvent(1, "e-1")]
    if kind == "other_key":
        return wire(event_ack(events, key=OTHER_KEY))
    signed = event_ack(events)
    if kind == "unsigned":
        for field in draw(st.sampled_from([["sig"], ["key_id"], ["sig", "key_id"]])):
            del signed[field]
    elif kind == "claims_hq":
        signed = {**event_ack(events, key=OTHER_KEY), "key_id": signed["key_id"]}
    elif kind == "other_context":
        signed = resign(signed, draw(st.sampled_from(["document", "command"])))
    else:
        field = draw(st.sampled_from(["v", "type", "device_id", "events", "issued_at", "key_id", "sig", "extra"]))
        value = draw(JSON | st.just([{"seq": e.seq + 1, "event_id": e.event_id} for e in events]))
        assume(signed.get(field) != value)
        signed[field] = value
    return wire(signed)


def _kiosk_with_event(folder: Path) -> tuple[Receiver, AckedEvent]:
    """A seeded kiosk whose outbox holds one event, and that event as an ack names it."""
    kiosk = Receiver(folder)
    seed(kiosk)
    kiosk.ledger.record_security_event("fuzz_marker", None, {"why": "an event for acks to name"})
    (event,) = [e for e in kiosk.ledger.outbox_pending(100) if e.type == "security.fuzz_marker"]
    return kiosk, AckedEvent(event.seq, event.event_id)


@pytest.fixture(scope="module")
def with_event(tmp_path_factory: pytest.TempPathFactory):
    kiosk, event = _kiosk_with_event(tmp_path_factory.mktemp("acks-fuzz"))
    yield kiosk, event
    kiosk.close()


def test_a_genuine_ack_removes_the_event_it_names(tmp_path: Path):
    # The control for the properties below: the event they keep is one an ack can remove.
    kiosk, event = _kiosk_with_event(tmp_path)
    try:
        assert event.event_id in kiosk.outbox_ids()
        received = check(kiosk.receive(DEVICE_ACK_TOPIC, wire(event_ack([event]))))
        assert received.status == "acked"
        assert event.event_id not in kiosk.outbox_ids()
    finally:
        kiosk.close()


@fuzz_settings(200, weight=0.5)
@given(st.data())
def test_no_ack_that_does_not_verify_removes_an_event(with_event, data):
    kiosk, event = with_event
    before = kiosk.outbox_ids()
    payload = garbage_ack(data.draw, data.draw(st.sampled_from([[event], []])))
    received = check(kiosk.receive(DEVICE_ACK_TOPIC, payload))
    assert (received.route, received.status) == ("ack", "ignored"), received
    assert received.reason in ACK_REASONS
    # Nothing left the outbox, and nothing came in but the kiosk's own report of the refusal.
    assert before <= kiosk.outbox_ids()
    added = {e.type for e in kiosk.ledger.outbox_pending(100_000) if e.event_id not in before}
    assert added <= {"security.unverified_ack"}, added


@fuzz_settings(100, weight=0.5)
@given(
    st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True).filter(lambda d: d != DEVICE),
    st.lists(WELL_FORMED_ACKED, max_size=3),
)
def test_a_genuine_ack_for_another_device_is_ignored(with_event, device_id, others):
    # HQ's own signature, but for another kiosk: a broker that routes acks wrongly must not empty this one.
    kiosk, event = with_event
    before = kiosk.outbox_ids()
    received = check(kiosk.receive(DEVICE_ACK_TOPIC, wire(event_ack([event, *others], device_id=device_id))))
    assert (received.status, received.reason) == ("ignored", "wrong_device")
    assert before <= kiosk.outbox_ids()


@fuzz_settings(200)
@given(st.lists(ACKED, min_size=1, max_size=MAX_ACK_EVENTS // 100), st.booleans())
def test_genuine_acks_for_unknown_events_remove_nothing(receiver, events, retained):
    # A replayed or stale genuine ack is harmless: it names events this kiosk does not hold.
    before = receiver.outbox_ids()
    received = check(receiver.receive(DEVICE_ACK_TOPIC, wire(event_ack(events)), retain=retained))
    if all(e.event_id for e in events):
        assert (received.status, received.reason) == ("acked", None)
        assert receiver.outbox_ids() == before
    else:
        assert (received.status, received.reason) == ("ignored", "malformed")
        assert before <= receiver.outbox_ids()


@fuzz_settings(300)
@given(st.lists(st.text(max_size=8) | st.integers() | st.none(), max_size=6), st.booleans(), st.data())
def test_event_acks(receiver, ids, ascii_only, data):
    before = receiver.outbox_ids()
    obj: dict[str, Any] = {"v": 1, "type": "event_ack", "device_id": DEVICE, "issued_at": "2026-03-01T10:00:00+08:00"}
    obj["events"] = [
        data.draw(st.sampled_from([i, {"seq": 1, "event_id": i}, {"seq": i, "event_id": "e"}])) for i in ids
    ]
    if data.draw(st.booleans()):
        obj.update(key_id=key_id(HQ_KEY.public_key()), sig=data.draw(st.sampled_from(["AAAA", "", "x" * 88])))
    payload = json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    received = check(receiver.receive(DEVICE_ACK_TOPIC, payload))
    assert (received.route, received.status) == ("ack", "ignored"), received
    assert before <= receiver.outbox_ids()


# Commands: applied only when HQ signed them for this kiosk, for now, once, and not retained.

COMMAND_IDS = st.sampled_from(["c-1", "c-2", "c-3"]) | st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)
COMMAND_NAMES = st.sampled_from([*COMMANDS, "format_disk", "RESYNC", ""]) | TEXT
COMMAND_SCOPES = st.sampled_from(
    [Scope.fleet(), Scope.store(STORE), Scope.store("S02"), Scope.device(DEVICE), Scope.device("K002")]
)
#: Minutes around the clock-skew and lifetime boundaries (5 and 60) and well beyond them.
MINUTES = st.sampled_from([-120, -66, -65, -64, -15, -5, -4, 0, 4, 5, 6, 60]) | st.integers(-300, 300)
LIFETIMES = st.sampled_from([1, 10, 59, 60, 61, 120, 0, -5]) | st.integers(-120, 180)


def expected_command(
    receiver: Receiver, topic_scope: Scope, scope: Scope, name: str, command_id: str, issued: int, lifetime: int
) -> str | None:
    """The reason a genuine command is refused with (None: applied), in verify_command's order."""
    issued_at = NOW + dt.timedelta(minutes=issued)
    not_after = issued_at + dt.timedelta(minutes=lifetime)
    if scope != topic_scope:
        return "wrong_scope"
    if not_after - issued_at > MAX_LIFETIME:
        return "too_long_lived"
    if issued_at > NOW + SKEW:
        return "not_yet_valid"
    if not_after < NOW - SKEW:
        return "expired"
    if name not in COMMANDS:
        return "unknown_command"
    if command_id in {c.id for c in receiver.commands}:
        return "duplicate"
    return None


@fuzz_settings(300)
@given(
    st.sampled_from([Scope.fleet(), Scope.store(STORE), Scope.device(DEVICE)]),
    COMMAND_SCOPES,
    COMMAND_NAMES,
    COMMAND_IDS,
    MINUTES,
    LIFETIMES,
)
def test_genuine_commands(receiver, topic_scope, scope, name, command_id, issued, lifetime):
    want = expected_command(receiver, topic_scope, scope, name, command_id, issued, lifetime)
    applied = len(receiver.commands)
    signed = command(
        name,
        command_id,
        scope=scope,
        issued_at=NOW + dt.timedelta(minutes=issued),
        lifetime=dt.timedelta(minutes=lifetime),
    )
    received = check(receiver.receive(topic_for("cmd", topic_scope), wire(signed)))
    assert received.route == "cmd"
    if want is None:
        assert (received.status, received.detail) == ("applied", command_id)
        assert (receiver.commands[-1].id, receiver.commands[-1].command) == (command_id, name)
        assert len(receiver.commands) == applied + 1
    else:
        assert (received.status, received.reason) == ("rejected", want), received.detail
        assert len(receiver.commands) == applied


@st.composite
def garbage_commands(draw: st.DrawFn) -> bytes:
    """A command payload that must not run: unsigned, another key, tampered, another context, noise."""
    kind = draw(st.sampled_from(["fields", "unsigned", "other_key", "claims_hq", "tampered", "other_context", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "fields":
        obj = draw(
            st.fixed_dictionaries(
                {"v": st.just(1)},
                optional={
                    "type": st.just("command") | JSON,
                    "scope": st.just({"kind": "device", "id": DEVICE}) | JSON,
                    "command": st.sampled_from(COMMANDS) | JSON,
                    "id": st.text(max_size=10) | JSON,
                    "issued_at": TIMES | JSON,
                    "not_after": TIMES | JSON,
                    "key_id": st.just(key_id(HQ_KEY.public_key())) | JSON,
                    "sig": st.sampled_from(["AAAA", "x" * 88]) | JSON,
                },
            )
        )
        return json.dumps(obj, ensure_ascii=True).encode("utf-8")
    name = draw(st.sampled_from(COMMANDS))
    command_id = draw(COMMAND_IDS)
    if kind == "other_key":
        return wire(command(name, command_id, key=OTHER_KEY))
    signed = command(name, command_id)
    if kind == "unsigned":
        dropped = draw(st.sampled_from([("sig",), ("key_id",), ("sig", "key_id")]))
        return wire({k: v for k, v in signed.items() if k not in dropped})
    if kind == "claims_hq":
        return wire({**command(name, command_id, key=OTHER_KEY), "key_id": signed["key_id"]})
    if kind == "other_context":
        return wire(resign(signed, draw(st.sampled_from(["document", "event_ack"]))))
    field = draw(st.sampled_from(["type", "scope", "id", "command", "issued_at", "not_after", "key_id", "sig"]))
    value = draw(JSON | st.sampled_from([*COMMANDS, "2026-03-02T10:00:00+08:00", {"kind": "fleet"}]))
    assume(signed[field] != value)
    return wire({**signed, field: value})


@fuzz_settings(300)
@given(garbage_commands(), st.sampled_from(COMMAND_TOPICS))
def test_commands_not_signed_by_hq_never_run(receiver, payload, topic):
    applied = len(receiver.commands)
    received = check(receiver.receive(topic, payload))
    assert (received.route, received.status) == ("cmd", "rejected"), received
    # Refused while parsing or at the signature, before its scope, times or name mean anything.
    assert received.reason in {"malformed", "unsigned", "unknown_key", "bad_signature"}, received
    assert len(receiver.commands) == applied


RETAINED_IDS = (f"retained-{n}" for n in itertools.count())


@fuzz_settings(200)
@given(st.sampled_from([Scope.fleet(), Scope.store(STORE), Scope.device(DEVICE)]), COMMAND_NAMES, st.data())
def test_a_retained_command_is_never_applied(receiver, scope, name, data):
    # Even HQ's own, fresh and for this kiosk: the broker replays retained messages on every resubscribe.
    topic = topic_for("cmd", scope)
    command_id = next(RETAINED_IDS)
    genuine = data.draw(st.booleans())
    payload = wire(command(name, command_id, scope=scope)) if genuine else data.draw(st.binary(max_size=200))
    applied = len(receiver.commands)
    received = check(receiver.receive(topic, payload, retain=True))
    assert (received.route, received.status, received.reason) == ("cmd", "rejected", "retained")
    assert len(receiver.commands) == applied
    if genuine and name in COMMANDS:
        # Refusing it did not use up its id: the same command, not retained, runs, and only once.
        assert check(receiver.receive(topic, payload)).status == "applied"
        assert check(receiver.receive(topic, payload)).reason == "duplicate"
        assert [c.id for c in receiver.commands[applied:]] == [command_id]


# --- regressions: each was an unexpected exception (apply_failed, or worse) before --------------------


@pytest.fixture
def fresh(tmp_path: Path):
    """A newly seeded kiosk (the module's receiver has seen every fuzzed document by now)."""
    kiosk = Receiver(tmp_path)
    seed(kiosk)
    yield kiosk
    kiosk.close()


def test_version_beyond_63_bits_is_malformed_and_does_not_wedge_the_line(fresh):
    # The ledger used to apply deny-list version 2**70, then recording it failed (OverflowError):
    # from then on every real deny-list from HQ was "not newer".
    huge = fresh.receive(topic_for("denylist"), wire(envelope("denylist", 2**70, {"entries": []})))
    assert (huge.status, huge.reason) == ("rejected", "malformed")
    after = fresh.receive(topic_for("denylist"), wire(envelope("denylist", next(VERSIONS), {"entries": []})))
    assert after.status == "applied"


def test_lone_surrogate_in_a_command_id_is_answered_as_malformed(fresh):
    # The push-ack echoing the id could not be encoded (UnicodeEncodeError): no answer at all.
    signed = command("resync", "c-1", scope=Scope.fleet())
    raw = wire({**signed, "id": "PLACEHOLDER"}).replace(b'"PLACEHOLDER"', b'"\\udc00"')
    received = check(fresh.receive(topic_for("cmd"), raw))
    assert (received.status, received.reason) == ("rejected", "malformed")


def test_lone_surrogate_in_an_event_ack_is_ignored_as_malformed(fresh):
    # SQLite refused the id with UnicodeEncodeError inside the relay; no signature can cover it now,
    # and an ack carrying HQ's key id must not get as far as the relay either.
    signed = event_ack([AckedEvent(1, "PLACEHOLDER")])
    raw = wire(signed).replace(b'"PLACEHOLDER"', b'"\\ud83d"')
    received = check(fresh.receive(DEVICE_ACK_TOPIC, raw))
    assert (received.status, received.reason) == ("ignored", "malformed")


def test_a_genuine_command_runs_once(fresh):
    # A redelivery (QoS 1 may deliver twice) or a replay of HQ's own message must not run it again.
    payload = wire(command("request_telemetry", "c-once"))
    first, again = (check(fresh.receive(topic_for("cmd", Scope.device(DEVICE)), payload)) for _ in range(2))
    assert (first.status, again.status, again.reason) == ("applied", "rejected", "duplicate")
    assert [c.id for c in fresh.commands] == ["c-once"]


def test_hq_signatures_do_not_cross_kinds(fresh):
    # One key signs documents, acks and commands: each under its own context, so none passes as another.
    genuine = command("resync", "c-cross", scope=Scope.fleet())
    for kind in CONTEXTS.keys() - {"command"}:
        received = check(fresh.receive(topic_for("cmd"), wire(resign(genuine, kind))))
        assert (received.status, received.reason) == ("rejected", "bad_signature"), kind
    assert check(fresh.receive(topic_for("cmd"), wire(genuine))).status == "applied"


@pytest.mark.parametrize(
    "field, value",
    [("lots", 5), ("cards", True), ("balance_fen", 2**64), ("vouchers", [{"voucher_id": "K001-1", "state": ["used"]}])],
)
def test_member_fields_of_the_wrong_shape_are_invalid_payload(fresh, field, value):
    # TypeError (iterating 5, hashing a list) and OverflowError (SQLite) escaped the ledger.
    payload = {"members": [{"member_id": "M9", "name": "赵六", field: value}], "acknowledged_event_ids": []}
    received = fresh.receive(topic_for("members"), wire(envelope("members", next(VERSIONS), payload)))
    assert (received.status, received.reason) == ("rejected", "invalid_payload"), received.detail


def test_reward_period_beyond_timedelta_is_invalid_payload_and_views_keep_working(fresh):
    # Accepted before; then every reward view raised OverflowError building timedelta(days=10**12).
    doc = demo_rules()
    doc["rewards"][1]["per_member_limit"]["period_days"] = 10**12
    received = fresh.receive(topic_for("rules"), wire(envelope("rules", next(VERSIONS), {"document": doc})))
    assert (received.status, received.reason) == ("rejected", "invalid_payload")
    assert fresh.ledger.reward_options("M1")


def test_reward_value_beyond_the_voucher_field_is_invalid_payload(fresh):
    # Accepted before; then confirming its redemption failed to encode the voucher (32-bit value).
    doc = demo_rules()
    doc["rewards"][0]["value_fen"] = 2**40
    received = fresh.receive(topic_for("rules"), wire(envelope("rules", next(VERSIONS), {"document": doc})))
    assert (received.status, received.reason) == ("rejected", "invalid_payload")


# --- HQ's side: what kiosks publish, stored by the HQ tool's listener -------------------------------


def _hq_store(folder: Path):
    from sync.hq.store import HqStore

    return HqStore(folder / "hq.sqlite")


@pytest.mark.parametrize("case_file", corpus("mqtt-hq", "*.json"))
def test_corpus_kiosk_message_at_hq(case_file: Path, tmp_path: Path):
    case = json.loads(case_file.read_text(encoding="utf-8"))
    store = _hq_store(tmp_path)
    try:
        assert hq_take(store, *build(case)) == case["expect"]
    finally:
        store.close()


@pytest.fixture(scope="module")
def hq_store(tmp_path_factory: pytest.TempPathFactory):
    store = _hq_store(tmp_path_factory.mktemp("hq-fuzz"))
    yield store
    store.close()


HQ_KEYS = st.sampled_from(
    [
        "v",
        "device_id",
        "store_id",
        "seq",
        "event_id",
        "type",
        "created_at",
        "offline",
        "historical",
        "payload",
        "version",
        "status",
        "reason",
        "detail",
        "topic",
        "at",
        "state",
        "uptime_s",
        "outbox_depth",
        "rules_version",
        "denylist_version",
    ]
)
HQ_VALUES = st.one_of(
    JSON, st.sampled_from([DEVICE, "K002", "rejected", "applied", "online", "2026-03-01T10:00:00+08:00"])
)
KIOSK_TOPICS = st.sampled_from(
    [f"{PREFIX}/kiosk/{DEVICE}/{kind}" for kind in ("events", "push-ack", "status", "telemetry")]
)


@fuzz_settings(300)
@given(KIOSK_TOPICS | TOPICS, st.dictionaries(HQ_KEYS, HQ_VALUES, max_size=10), st.booleans())
def test_kiosk_messages_at_hq_are_stored_or_ignored(hq_store, topic, obj, ascii_only):
    obj.setdefault("v", 1)
    payload = json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert hq_take(hq_store, topic, payload) in ("stored", "ignored")
