"""`HqLink`: the kiosk's side of the HQ link, wired from plain parameters by the app.

Threads: paho's network thread (inside `sync.mqtt_client`) only puts work on a queue; one worker
thread of ours ("hq-sync") does all ledger work, the version store, the relay and the push
handler. The ledger is either the app's own instance (`ledger=`: kiosk.ledger.Ledger serialises
every call with its lock and its connection allows other threads, and in-memory caches such as
the current rules stay coherent: the recommended wiring), or one the worker opens itself
(`ledger_factory=`: a separate SQLite connection on the same WAL database, closed on stop; the
app's instance then does not see the link's writes in its caches until it reloads them).
`start`, `stop`, `online` and `notify_outbox` are safe to call from any thread;
`on_online_change` is called from the worker thread.

`online` = connected to the broker and HQ acknowledging events with acks whose signature verifies
(no ack timeout since the last one, see `OutboxRelay.reaches_hq`): a broker that accepts events
nobody acknowledges is not HQ, and neither is whoever can merely write HQ's topics.

Inbound messages pass `sync.router.InboundGate` on paho's thread (size per kind, a bounded queue),
then `InboundRouter` on the worker; the MQTT 5 CONNECT asks the broker for a Maximum Packet Size
so that an oversized message is not even sent (docs/mqtt.md "Limits").
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.alerts import LinkCounters, SecurityEventSink, SecurityReporter, TakeoverWatch
from sync.commands import VerifiedCommand
from sync.envelope import EnvelopeVerifier
from sync.inbound import DEFAULT_MAX_PUSH_BYTES, PushHandler
from sync.mqtt_client import ConnectionSettings, Message, MqttClient, TlsSettings, Will
from sync.ports import Clock, LedgerPort
from sync.relay import OutboxRelay
from sync.router import InboundGate, InboundRouter, Oversized
from sync.schemas import PushAck, Status, dumps, telemetry_json
from sync.state import VersionStore
from sync.topics import KioskTopics

_LOG = logging.getLogger(__name__)

_STOP = object()
_NUDGE = object()
#: Inbound messages queued for the worker and not yet handled, at most (see InboundGate).
MAX_QUEUED_INBOUND = 2000
#: Room for the queue's bodies beyond one largest message (documents up to max_push_bytes).
QUEUE_HEADROOM_BYTES = 2 * 1024 * 1024
#: MQTT 5 packet overhead allowed beyond the largest body: topic, properties, header.
PACKET_OVERHEAD_BYTES = 16 * 1024


class LinkLedger(LedgerPort, SecurityEventSink, Protocol):
    """The ledger as the link uses it: outbox, documents and security events."""


class HqLink:
    def __init__(
        self,
        *,
        device_id: str,
        store_id: str,
        host: str,
        port: int,
        tls: TlsSettings | None,
        username: str | None,
        password: str | None,
        keepalive_s: int,
        topic_prefix: str,
        hq_public_keys: Sequence[Ed25519PublicKey],
        ledger_factory: Callable[[], LinkLedger] | None = None,
        ledger: LinkLedger | None = None,
        telemetry_source: Callable[[], Mapping[str, Any]],
        clock: Clock,
        drain_rate_per_s: float | None,
        state_path: Path,
        on_online_change: Callable[[bool], None] | None = None,
        software_version: str,
        package: Mapping[str, Any] | None = None,
        discovery: Callable[[], Sequence[tuple[str, bytes]]] | None = None,
        telemetry_interval_s: float = 60.0,
        window: int = 1000,
        ack_timeout_s: float = 30.0,
        clock_skew_s: float = 300.0,
        max_push_bytes: int = DEFAULT_MAX_PUSH_BYTES,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        prefer_v5: bool = True,
    ) -> None:
        self._topics = KioskTopics(topic_prefix, device_id, store_id)
        self._verifier = EnvelopeVerifier(hq_public_keys, device_id=device_id, store_id=store_id, skew_s=clock_skew_s)
        if (ledger is None) == (ledger_factory is None):
            raise ValueError("pass exactly one of ledger (shared, thread-safe) or ledger_factory")
        self._shared_ledger = ledger
        self._ledger_factory = ledger_factory
        self._telemetry_source = telemetry_source
        self._clock = clock
        self._drain_rate = drain_rate_per_s
        self._state_path = Path(state_path)
        self._on_online_change = on_online_change
        self._software = software_version
        self._package = package
        self._discovery = discovery
        self._telemetry_interval = telemetry_interval_s
        self._window = window
        self._ack_timeout = ack_timeout_s
        self._max_push_bytes = max_push_bytes
        self.counters = LinkCounters()
        self._gate = InboundGate(
            max_document_bytes=max_push_bytes,
            counters=self.counters,
            max_queued_bytes=max_push_bytes + QUEUE_HEADROOM_BYTES,
            max_queued=MAX_QUEUED_INBOUND,
        )
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._started_mono = clock.monotonic()
        self._online = False
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._client = MqttClient(
            ConnectionSettings(
                client_id=device_id,
                host=host,
                port=port,
                tls=tls,
                username=username,
                password=password,
                keepalive_s=keepalive_s,
                reconnect_min_s=reconnect_min_s,
                reconnect_max_s=reconnect_max_s,
                max_inflight=min(window, 1000),
                prefer_v5=prefer_v5,
                max_packet_bytes=self._gate.largest_message + PACKET_OVERHEAD_BYTES,
                subscriptions=[(f, 1) for f in self._topics.subscriptions()],
            ),
            on_connect=lambda session_present: self._queue.put(("connected", session_present)),
            on_disconnect=lambda reason: self._queue.put(("disconnected", reason)),
            on_message=self._admit,
        )
        self._client.set_will(self._status_will())

    # --- public, any thread ---------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online

    @property
    def connected(self) -> bool:
        """The broker connection is up (HQ may still be silent: see `online`)."""
        return self._client.connected

    @property
    def topics(self) -> KioskTopics:
        return self._topics

    def start(self, timeout: float = 10.0) -> None:
        """Open the worker's ledger and begin connecting; raises if the ledger cannot be opened."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="hq-sync", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self, timeout: float = 10.0) -> None:
        """Publish `offline` (retained), disconnect cleanly, close the worker's ledger."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _admit(self, message: Message) -> None:
        """paho's thread: queue what the gate lets through, nothing else."""
        item = self._gate.admit(message)
        if item is not None:
            self._queue.put(item)

    def notify_outbox(self) -> None:
        """The ledger wrote events: let the relay look at the outbox now rather than later."""
        self._queue.put(_NUDGE)

    # --- worker thread --------------------------------------------------------------------------

    def _status(self, state: str) -> Status:
        return Status(
            self._topics.device_id,
            self._topics.store_id,
            state,
            self._clock.now(),
            self._software,
            self._client.protocol,
            self._package,
        )

    def _status_will(self) -> Will:
        return Will(self._topics.status, dumps(self._status("offline").to_json()), qos=1, retain=True)

    def _run(self) -> None:
        try:
            if self._shared_ledger is not None:
                ledger = self._shared_ledger
            else:
                assert self._ledger_factory is not None  # __init__ requires exactly one of the two
                ledger = self._ledger_factory()
            versions = VersionStore(self._state_path)
            handler = PushHandler(
                verifier=self._verifier,
                versions=versions,
                ledger=ledger,
                clock=self._clock,
                max_bytes=self._max_push_bytes,
            )
            reporter = SecurityReporter(ledger, self._clock, self.counters)
            relay = OutboxRelay(
                outbox=ledger,
                publish=self._publish_event,
                topic=self._topics.events,
                device_id=self._topics.device_id,
                clock=self._clock,
                window=self._window,
                ack_timeout_s=self._ack_timeout,
                drain_rate_per_s=self._drain_rate,
            )
        except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
            self._startup_error = exc
            self._ready.set()
            return
        worker = _Worker(self, ledger, versions, handler, relay, reporter)
        self._ready.set()
        try:
            worker.loop()
        finally:
            offline = self._status("offline")
            self._client.stop(final=Message(self._topics.status, dumps(offline.to_json()), 1, True))
            self._set_online(False)
            versions.close()
            close = getattr(ledger, "close", None)
            if self._shared_ledger is None and callable(close):  # close only what we opened
                close()

    def _publish_event(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1)

    def _set_online(self, online: bool) -> None:
        if online == self._online:
            return
        self._online = online
        if self._on_online_change is not None:
            try:
                self._on_online_change(online)
            except Exception:  # noqa: BLE001 - the app's callback must not stop the link
                _LOG.exception("on_online_change failed")


class _Worker:
    """The body of the "hq-sync" thread; everything here runs on that one thread."""

    def __init__(
        self,
        link: HqLink,
        ledger: LinkLedger,
        versions: VersionStore,
        handler: PushHandler,
        relay: OutboxRelay,
        reporter: SecurityReporter,
    ) -> None:
        self.link = link
        self.ledger = ledger
        self.handler = handler
        self.relay = relay
        self.client = link._client
        self.topics = link._topics
        self.clock = link._clock
        self.takeovers = TakeoverWatch(link._clock, link.counters, reporter)
        self.router = InboundRouter(
            topics=link._topics,
            verifier=link._verifier,
            handler=handler,
            versions=versions,
            clock=link._clock,
            counters=link.counters,
            reporter=reporter,
            answer=self._publish_push_ack,
            on_command=self._apply_command,
        )
        self.next_telemetry: float | None = None
        self.pump_at: float | None = None

    def loop(self) -> None:
        self.client.start()
        while True:
            try:
                job = self.link._queue.get(timeout=self._wait_s())
            except queue.Empty:
                job = None
            if job is _STOP:
                return
            if job is not None:
                self._handle(job)
            # Handle whatever else is already queued before the (costlier) pump.
            for _ in range(1000):
                try:
                    job = self.link._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    return
                self._handle(job)
            self._tick()

    def _wait_s(self) -> float:
        now = self.clock.monotonic()
        deadlines = [now + 1.0]  # timeouts are checked at least once a second
        if self.pump_at is not None:
            deadlines.append(self.pump_at)
        if self.next_telemetry is not None:
            deadlines.append(self.next_telemetry)
        return max(0.0, min(deadlines) - now)

    def _tick(self) -> None:
        # Acks that arrived in one burst are applied together (the relay chunks the deletes).
        acks = self.router.take_acks()
        if acks:
            self.relay.acked(acks)
        now = self.clock.monotonic()
        self.relay.check_timeout()
        self.link._set_online(self.relay.reaches_hq)
        wait = self.relay.pump()
        self.pump_at = None if wait is None else now + wait
        if self.next_telemetry is not None and now >= self.next_telemetry:
            self._publish_telemetry()

    def _handle(self, job: object) -> None:
        try:
            if job is _NUDGE:
                return  # the pump after every batch of jobs does the work
            if isinstance(job, (Message, Oversized)):
                self.link._gate.done(job)
                self.router.route(job)
            elif isinstance(job, tuple) and job[0] == "connected":
                self._on_connected()
            elif isinstance(job, tuple) and job[0] == "disconnected":
                self.takeovers.disconnected(str(job[1]))
                self.relay.disconnected()
                self.next_telemetry = None
                self.link._set_online(self.relay.reaches_hq)
        except Exception:  # noqa: BLE001 - keep the link alive; the event stays in the outbox
            _LOG.exception("sync worker failed on %r", job)

    def _on_connected(self) -> None:
        self.takeovers.connected()
        self.client.publish(self.topics.status, dumps(self.link._status("online").to_json()), qos=1, retain=True)
        self._publish_discovery()
        self.relay.connected()
        self.link._set_online(self.relay.reaches_hq)
        self._publish_telemetry()

    def _publish_discovery(self) -> None:
        """Retained configs for a store's Home Assistant (sync/ha_discovery.py), when the app asks for them."""
        if self.link._discovery is None:
            return
        for topic, payload in self.link._discovery():
            self.client.publish(topic, payload, qos=1, retain=True)

    def _publish_telemetry(self) -> None:
        self.next_telemetry = self.clock.monotonic() + self.link._telemetry_interval
        if not self.client.connected:
            return
        try:
            source = dict(self.link._telemetry_source())
        except Exception as exc:  # noqa: BLE001 - telemetry must not break the link
            source = {"telemetry_source_error": f"{type(exc).__name__}: {exc}"}
        body = telemetry_json(
            device_id=self.topics.device_id,
            at=self.clock.now(),
            uptime_s=int(self.clock.monotonic() - self.link._started_mono),
            outbox_depth=self.ledger.outbox_depth(),
            rules_version=self.handler.current_version("rules"),
            denylist_version=self.handler.current_version("denylist"),
            members_version=self.handler.current_version("members"),
            voucher_keys_version=self.handler.current_version("voucher_keys"),
            free_disk_bytes=shutil.disk_usage(self.link._state_path.parent).free,
            connected_since=self.relay.connected_at,
            source=source,
            link=self.link.counters.as_json(),
        )
        self.client.publish(self.topics.telemetry, dumps(body), qos=0, retain=True)

    def _apply_command(self, command: VerifiedCommand) -> None:
        if command.command == "resync":
            self.relay.restart("resync command")
            self.client.resubscribe()
        elif command.command == "request_telemetry":
            self._publish_telemetry()

    def _publish_push_ack(self, ack: PushAck) -> None:
        self.client.publish(self.topics.push_ack, dumps(ack.to_json()), qos=1)
