"""HQ's broker rights without HQ's signing key: a nemesis for bench.chaos, and HQ's own commands.

Whoever can write `{p}/hq/#` on the broker (a leaked HQ broker credential, a bridge HQ does not
run) can publish everything HQ publishes, but cannot sign it: event acks and commands carry HQ's
Ed25519 signature (sync.acks, sync.commands). `Forger` is that client:

- `steal(seconds)` joins HQ's shared subscription to the events (`$share/hq/...`), so the broker
  hands it a share of the kiosks' events that HQ then never sees, and forges an ack for each at
  once, plus a sweep every few seconds naming every stolen event HQ has not acknowledged since
  (and, at the start of each move, guesses: the first sequence numbers under random ids). A
  kiosk that deleted what such an ack names would lose those events for good: they are nowhere
  but in its outbox. Forgeries come in three kinds, in turn: `unsigned` (no signature),
  `unknown_key` (signed with the forger's own key) and `bad_signature` (the forger's signature
  under HQ's key id, read off HQ's genuine acks).
- `retained_round()` publishes retained commands on the kiosk's three command topics (fleet,
  store, device): a `resync`, forged in one of the three kinds, and on the device topic a genuine
  HQ command captured off the wire, replayed with retain=True. The broker hands a retained message
  to every new subscription, so each reconnect of the kiosk meets them again; the forger publishes
  its last round again whenever it reconnects (a broker without persistence forgets them).

`HqCommander` plays HQ: signed, never retained `request_telemetry` commands (`kiosk hq
send-command`), which are what the forger captures, and a tally of the telemetry they make the
kiosk send (its `link` counters, summed across kiosk restarts: each process counts from zero).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.acks import MAX_ACK_EVENTS, AckedEvent, sign_event_ack
from sync.commands import sign_command
from sync.errors import PayloadError
from sync.mqtt_client import ConnectionSettings, Message, MqttClient
from sync.schemas import dumps, parse_event
from sync.topics import HqTopics, Scope

_LOG = logging.getLogger(__name__)

FORGERY_KINDS = ("unsigned", "unknown_key", "bad_signature")
#: Forged command ids start with this, so HQ's record of the kiosk's answers tells them apart.
FORGED_ID_PREFIX = "forged-"
SWEEP_S = 3.0
_STOP = object()


def _unsigned(signed: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in signed.items() if k not in ("key_id", "sig")}


def forge(kind: str, signed_by_forger: dict[str, Any], hq_key_id: str | None) -> dict[str, Any]:
    """`signed_by_forger` turned into a forgery of `kind` (bad_signature needs HQ's key id)."""
    if kind == "unsigned":
        return _unsigned(signed_by_forger)
    if kind == "bad_signature" and hq_key_id is not None:
        return {**signed_by_forger, "key_id": hq_key_id}
    return signed_by_forger  # unknown_key (also bad_signature before HQ's key id is known)


def forged_ack(
    kind: str, key: Ed25519PrivateKey, hq_key_id: str | None, device_id: str, events: Sequence[AckedEvent]
) -> dict[str, Any]:
    signed = sign_event_ack(key, device_id=device_id, events=events, issued_at=dt.datetime.now(dt.UTC))
    return forge(kind, signed, hq_key_id)


def forged_command(
    kind: str, key: Ed25519PrivateKey, hq_key_id: str | None, scope: Scope, command: str = "resync"
) -> dict[str, Any]:
    signed = sign_command(
        key,
        command=command,
        command_id=f"{FORGED_ID_PREFIX}{uuid.uuid4().hex[:16]}",
        scope=scope,
        issued_at=dt.datetime.now(dt.UTC),
    )
    return forge(kind, signed, hq_key_id)


def _digest(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()


class Forger:
    """The nemesis's client(s) and what they did (`counts`); thread-safe."""

    def __init__(self, *, host: str, port: int, prefix: str, device_id: str, store_id: str) -> None:
        self.host, self.port = host, port
        self.topics = HqTopics(prefix)
        self.scopes = (Scope.fleet(), Scope.store(store_id), Scope.device(device_id))
        self.key = Ed25519PrivateKey.generate()  # not HQ's
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.RLock()
        self._hq_key_id: str | None = None
        self._captured: dict[str, bytes] = {}  # command topic -> HQ's latest genuine command
        self._pending: dict[str, dict[str, int]] = {}  # device -> {event id: seq} stolen, not acked by HQ
        self._sent: set[bytes] = set()  # digests of what we published: our echoes are not HQ's
        self._kinds = itertools.cycle(FORGERY_KINDS)
        self._last_round: list[tuple[str, bytes]] = []
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._connects = 0
        self._stealing = False
        self._watch = MqttClient(
            ConnectionSettings(
                client_id="hq-forger",
                host=host,
                port=port,
                persistent_session=False,
                reconnect_max_s=2,
                subscriptions=[
                    (f"{prefix}/hq/fleet/cmd", 1),
                    (f"{prefix}/hq/+/+/cmd", 1),  # store and device commands
                    (f"{prefix}/hq/device/+/ack", 1),
                ],
            ),
            on_connect=lambda _present: self._queue.put("connected"),
            on_message=self._queue.put,
        )
        self._thread = threading.Thread(target=self._run, name="forger", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        self._watch.start()
        if not self._watch.wait_connected(timeout_s):
            raise RuntimeError("the forger could not reach the broker")

    def stop(self) -> None:
        """Disconnect; what it left retained stays on the broker. Safe to call more than once."""
        self._watch.stop()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)

    # --- the nemesis's moves ---------------------------------------------------------------------
    def steal(self, seconds: float) -> int:
        """Take a share of the kiosks' events for `seconds`, acking each with a forgery; returns how many.

        It starts with guesses, one forgery of each kind naming the first sequence numbers under
        random event ids, so that every move forges something even if no event comes by.
        """
        device_id = self.scopes[2].id
        assert device_id is not None
        for _ in FORGERY_KINDS:
            self._forge_ack(device_id, [AckedEvent(seq, str(uuid.uuid4())) for seq in range(1, 6)])
        with self._lock:
            before = self.counts["events_stolen"]
        client = MqttClient(
            ConnectionSettings(
                client_id="hq-forger-share",
                host=self.host,
                port=self.port,
                persistent_session=False,
                reconnect_max_s=2,
                max_inflight=1000,
                subscriptions=[(self.topics.events_shared, 1)],
            ),
            on_message=self._queue.put,
        )
        with self._lock:
            self._stealing = True
        client.start()
        try:
            time.sleep(seconds)
        finally:
            client.stop()
            with self._lock:
                self._stealing = False
            self._queue.put("sweep")  # one last time for whatever is still unacknowledged
        self._count("steal_windows")
        with self._lock:
            return self.counts["events_stolen"] - before

    def retained_round(self) -> list[str]:
        """Retained commands on the fleet, store and device command topics; returns their kinds."""
        messages: list[tuple[str, bytes]] = []
        kinds: list[str] = []
        with self._lock:
            for scope in self.scopes:
                topic = self.topics.command(scope)
                replay = self._captured.get(topic)
                if replay is not None and scope.kind == "device":
                    kinds.append("replayed")
                    messages.append((topic, replay))
                    continue
                kind = next(self._kinds)
                kinds.append(kind)
                messages.append((topic, dumps(forged_command(kind, self.key, self._hq_key_id, scope))))
            self._last_round = messages
        for (topic, payload), kind in zip(messages, kinds):
            if self._publish(topic, payload, retain=True):
                self._count("retained_commands_sent")
                self._count(f"retained_{kind}")
        return kinds

    # --- the forger's thread -----------------------------------------------------------------------
    def _run(self) -> None:
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            try:
                job = self._queue.get(timeout=max(0.0, next_sweep - time.monotonic()))
            except queue.Empty:
                job = None
            if job is _STOP:
                return
            try:
                if job == "connected":
                    self._connected()
                elif job == "sweep":
                    self._sweep()
                elif isinstance(job, Message):
                    self._on_message(job)
            except Exception:  # noqa: BLE001 - a bench helper must not die on one odd message
                _LOG.exception("forger failed on %r", job)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_S
                if self._stealing:
                    self._sweep()

    def _connected(self) -> None:
        self._connects += 1
        with self._lock:
            again = list(self._last_round) if self._connects > 1 else []
        # A broker without persistence forgot the retained commands: put them back.
        for topic, payload in again:
            if self._publish(topic, payload, retain=True):
                self._count("retained_commands_sent")
                self._count("retained_republished")

    def _on_message(self, message: Message) -> None:
        if _digest(message.payload) in self._sent or not message.payload:
            return  # our own, echoed back (or a cleared retained message)
        kind = message.topic.rsplit("/", 1)[-1]
        if kind == "events":
            self._stolen(message.payload)
            return
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("key_id"), str):
            return
        with self._lock:
            self._hq_key_id = body["key_id"]
            if kind == "cmd":
                self._captured[message.topic] = message.payload
                self._count("genuine_commands_captured")
            elif kind == "ack":
                pending = self._pending.get(str(body.get("device_id")), {})
                for item in body.get("events", []):
                    if isinstance(item, dict):
                        pending.pop(str(item.get("event_id")), None)

    def _stolen(self, payload: bytes) -> None:
        try:
            event = parse_event(payload)
        except PayloadError:
            return
        self._count("events_stolen")
        with self._lock:
            self._pending.setdefault(event.device_id, {})[event.event_id] = event.seq
        # The event, and a guess at the next one (its id is random: a guess can only name the seq).
        named = [AckedEvent(event.seq, event.event_id), AckedEvent(event.seq + 1, str(uuid.uuid4()))]
        self._forge_ack(event.device_id, named)

    def _sweep(self) -> None:
        with self._lock:
            pending = {device: dict(events) for device, events in self._pending.items() if events}
        for device_id, events in pending.items():
            named = [AckedEvent(seq, event_id) for event_id, seq in events.items()]
            for start in range(0, len(named), MAX_ACK_EVENTS):
                self._forge_ack(device_id, named[start : start + MAX_ACK_EVENTS])
                self._count("forged_ack_sweeps")

    def _forge_ack(self, device_id: str, events: list[AckedEvent]) -> None:
        with self._lock:
            kind = next(self._kinds)
            body = forged_ack(kind, self.key, self._hq_key_id, device_id, events)
        if self._publish(self.topics.ack(device_id), dumps(body)):
            self._count("forged_acks_sent")
            self._count(f"forged_acks_{kind}")
            self._count("forged_ack_events_named", len(events))

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        with self._lock:
            self._sent.add(_digest(payload))
        try:
            self._watch.publish(topic, payload, qos=1, retain=retain)
        except ConnectionError as exc:
            _LOG.info("forger could not publish on %s: %s", topic, exc)
            return False
        return True

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def figures(self) -> dict[str, Any]:
        with self._lock:
            counts = collections.Counter(self.counts)
        return {
            "forged_acks_sent": counts["forged_acks_sent"],
            "forged_ack_events_named": counts["forged_ack_events_named"],
            "forged_acks_by_kind": {k: counts[f"forged_acks_{k}"] for k in FORGERY_KINDS},
            "forged_ack_sweeps": counts["forged_ack_sweeps"],
            "events_stolen": counts["events_stolen"],
            "steal_windows": counts["steal_windows"],
            "retained_commands_sent": counts["retained_commands_sent"],
            "retained_commands_by_kind": {
                k: counts[f"retained_{k}"] for k in (*FORGERY_KINDS, "replayed", "republished")
            },
            "genuine_commands_captured": counts["genuine_commands_captured"],
        }


class TelemetryTally:
    """The kiosks' `link` counters summed over their processes (each restart counts from zero).

    A new process shows as a smaller uptime or a counter going down; what the old one counted after
    its last telemetry is not seen, so the sums are lower bounds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: dict[str, collections.Counter[str]] = {}
        self._last: dict[str, tuple[int, dict[str, int]]] = {}
        self.messages = 0

    def observe(self, body: Mapping[str, Any]) -> None:
        device, uptime, link = body.get("device_id"), body.get("uptime_s"), body.get("link")
        if not isinstance(device, str) or not isinstance(uptime, int) or not isinstance(link, dict):
            return
        counters = {k: v for k, v in link.items() if isinstance(v, int)}
        with self._lock:
            self.messages += 1
            last = self._last.get(device)
            if last is not None:
                restarted = uptime < last[0] or any(counters.get(k, 0) < v for k, v in last[1].items())
                if restarted:
                    self._finished.setdefault(device, collections.Counter()).update(last[1])
            self._last[device] = (uptime, counters)

    def totals(self) -> dict[str, int]:
        with self._lock:
            total: collections.Counter[str] = collections.Counter()
            for finished in self._finished.values():
                total.update(finished)
            for _, counters in self._last.values():
                total.update(counters)
        return dict(total)


class HqCommander:
    """HQ's side: signed, never retained commands, and the kiosks' telemetry (thread-safe)."""

    def __init__(self, *, host: str, port: int, prefix: str, signing_key: Ed25519PrivateKey, scope: Scope) -> None:
        self.topics = HqTopics(prefix)
        self.key = signing_key
        self.scope = scope
        self.tally = TelemetryTally()
        self.sent = 0
        self._telemetry_seen = threading.Condition()
        self._client = MqttClient(
            ConnectionSettings(
                client_id="hq-commands",
                host=host,
                port=port,
                persistent_session=False,
                reconnect_max_s=2,
                subscriptions=[(self.topics.telemetry_all, 0)],
            ),
            on_message=self._on_message,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, every_s: float | None, timeout_s: float = 10.0) -> None:
        """Connect, then send `request_telemetry` every `every_s` seconds (if given) until `stop_sending`."""
        self._client.start()
        if not self._client.wait_connected(timeout_s):
            raise RuntimeError("HQ's command client could not reach the broker")
        if every_s is not None:
            self._thread = threading.Thread(target=self._every, args=(every_s,), name="hq-commands", daemon=True)
            self._thread.start()

    def stop_sending(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def stop(self) -> None:
        self.stop_sending()
        self._client.stop()

    def send(self, command: str = "request_telemetry") -> str | None:
        """The id of the command sent (the kiosk's push-ack names it), None if the client is down."""
        body = sign_command(
            self.key,
            command=command,
            command_id=f"hq-{uuid.uuid4().hex[:16]}",
            scope=self.scope,
            issued_at=dt.datetime.now(dt.UTC),
        )
        try:
            self._client.publish(self.topics.command(self.scope), dumps(body), qos=1, retain=False)
        except ConnectionError:
            return None
        self.sent += 1
        return str(body["id"])

    def final_telemetry(self, timeout_s: float = 10.0, attempts: int = 1) -> bool:
        """Ask (up to `attempts` times) and wait for the answer: the counters as they are now.

        A kiosk whose inbound queue is full drops the command like any other message: ask again.
        """
        for _ in range(attempts):
            with self._telemetry_seen:
                before = self.tally.messages
            if self.send():
                with self._telemetry_seen:
                    if self._telemetry_seen.wait_for(functools.partial(self._more_than, before), timeout_s):
                        return True
            else:
                time.sleep(timeout_s)
        return False

    def _more_than(self, seen: int) -> bool:
        return self.tally.messages > seen

    def _every(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.send()

    def _on_message(self, message: Message) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(body, dict):
            self.tally.observe(body)
            with self._telemetry_seen:
                self._telemetry_seen.notify_all()
