"""`kiosk hq listen`: receive kiosk events, store them once, acknowledge them; record fleet state.

Events and push acks come through shared subscriptions (`$share/hq/...`), so several listeners
split the load; status and telemetry through plain ones. Events are stored in batches, one
transaction each, and acknowledged only after the commit with acks signed by HQ's key (one per
device and batch, split at `sync.acks.MAX_ACK_EVENTS`).

Everything a kiosk says is bound to the device of its topic (the broker's ACL lets a kiosk write
only its own topics): a body naming another device is refused, and so is a status moving a kiosk
to another store than the one HQ knows it in (an alarm for the operator). A gap in a device's
sequence numbers that outlives `gap_grace_s` raises a `seq_gap` alarm; it clears when the missing
events arrive. The grace covers the normal case of events still in flight, split between the
members of a share group, or resent after the kiosk's ack timeout.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.acks import chunked, sign_event_ack
from sync.errors import PayloadError, TopicError
from sync.hq.ports import ListenerStore
from sync.hq.store import HqStore
from sync.mqtt_client import ConnectionSettings, Message, MqttClient, TlsSettings
from sync.ports import Clock, SystemClock
from sync.schemas import EventMessage, dumps, parse_event, parse_push_ack, parse_status, parse_telemetry
from sync.topics import HqTopics

_LOG = logging.getLogger(__name__)
_STOP = object()


class HqListener:
    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey,
        store_path: Path | None = None,
        store_factory: Callable[[], ListenerStore] | None = None,
        prefix: str,
        host: str,
        port: int,
        client_id: str = "hq-listener",
        tls: TlsSettings | None = None,
        username: str | None = None,
        password: str | None = None,
        share_group: str = "hq",
        batch_size: int = 1000,
        clock: Clock | None = None,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        on_batch: Callable[[int, int], None] | None = None,
        gap_grace_s: float = 90.0,
    ) -> None:
        self._topics = HqTopics(prefix, share_group)
        self._signing_key = signing_key
        self._gap_grace = gap_grace_s
        self._gaps_seen: dict[str, float] = {}  # device -> when its current gap was first seen (monotonic)
        self._gap_check_due: set[str] = set()
        if (store_path is None) == (store_factory is None):
            raise ValueError("pass exactly one of store_path (the reference SQLite) or store_factory")
        path = store_path
        self._store_factory: Callable[[], ListenerStore] = store_factory or (lambda: HqStore(Path(path or "")))
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.stored = 0
        self.duplicates = 0
        self.refused = 0
        self.failed_batches = 0
        self._client = MqttClient(
            ConnectionSettings(
                client_id=client_id,
                host=host,
                port=port,
                tls=tls,
                username=username,
                password=password,
                reconnect_min_s=reconnect_min_s,
                # No persistent session: a stopped member of a share group would otherwise keep
                # its share of the events queued in the broker, unacked, until it came back.
                # Kiosks resend whatever is not acked, so HQ loses nothing by starting clean.
                persistent_session=False,
                reconnect_max_s=reconnect_max_s,
                max_inflight=1000,
                subscriptions=[
                    (self._topics.events_shared, 1),
                    (self._topics.push_acks_shared, 1),
                    (self._topics.status_all, 1),
                    (self._topics.telemetry_all, 0),
                ],
            ),
            on_message=self._queue.put,
        )

    @property
    def client(self) -> MqttClient:
        return self._client

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hq-listener", daemon=True)
        self._thread.start()
        self._client.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._client.stop()
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_connected(self, timeout: float) -> bool:
        return self._client.wait_connected(timeout)

    def _run(self) -> None:
        store = self._store_factory()  # opened on the listener's own thread
        try:
            while True:
                try:
                    job = self._queue.get(timeout=1.0)
                except queue.Empty:
                    self._check_gaps(store)
                    continue
                if job is _STOP:
                    return
                events: list[EventMessage] = []
                stop = self._take(job, store, events)
                while not stop and len(events) < self._batch_size:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    stop = job is _STOP or self._take(job, store, events)
                if events:
                    self._store_and_ack(store, events)
                self._check_gaps(store)
                if stop:
                    return
        finally:
            store.close()

    def _take(self, job: object, store: ListenerStore, events: list[EventMessage]) -> bool:
        if job is _STOP:
            return True
        assert isinstance(job, Message)
        try:
            device_id, kind = self._topics.parse_kiosk(job.topic)
            if kind == "events":
                event = parse_event(job.payload)
                if event.device_id != device_id:
                    # ACLs should make this impossible; never let one kiosk write another's history.
                    raise PayloadError(f"event says {event.device_id}, topic says {device_id}")
                events.append(event)
            elif kind == "push-ack":
                ack = parse_push_ack(job.payload)
                if ack.device_id != device_id:
                    raise PayloadError(f"push-ack says {ack.device_id}, topic says {device_id}")
                store.record_push_ack(ack, self._clock.now())
                if ack.status == "rejected":
                    _LOG.warning(
                        "%s rejected %s v%s: %s %s", device_id, ack.type, ack.version, ack.reason, ack.detail or ""
                    )
            elif kind == "status" and job.payload:
                status = parse_status(job.payload)
                if status.device_id != device_id:
                    raise PayloadError(f"status says {status.device_id}, topic says {device_id}")
                known = store.device_store(device_id)
                if known is not None and status.store_id != known:
                    detail = f"status claims store {status.store_id}, HQ knows {device_id} in {known}"
                    store.raise_alarm("store_claim", device_id, detail, self._clock.now())
                    raise PayloadError(detail)
                store.record_status(device_id, status.store_id, status.state, status.at)
            elif kind == "telemetry" and job.payload:
                body = parse_telemetry(job.payload)
                if body["device_id"] != device_id:
                    raise PayloadError(f"telemetry says {body['device_id']}, topic says {device_id}")
                store.record_telemetry(device_id, body, self._clock.now())
        except (PayloadError, TopicError) as exc:
            self.refused += 1
            _LOG.warning("ignored message on %s: %s", job.topic, exc)
        return False

    def _store_and_ack(self, store: ListenerStore, events: list[EventMessage]) -> None:
        try:
            result = store.record_events(events, self._clock.now())
        except Exception:  # noqa: BLE001 - nothing was stored or acked: the kiosks resend after their ack timeout
            self.failed_batches += 1
            _LOG.exception("storing %d events failed; not acknowledged, the kiosks will resend them", len(events))
            return
        self.stored += len(result.new)
        self.duplicates += len(result.duplicates)
        if result.conflicts:
            _LOG.error(
                "%d events reuse a (device, seq) with another event id; kept in conflicts", len(result.conflicts)
            )
        # Acks go out only after the commit above: an ack is a promise the event is on disk.
        now = self._clock.now()
        for device_id, acked in result.acknowledged_by_device().items():
            self._gap_check_due.add(device_id)
            for part in chunked(acked):
                ack = sign_event_ack(self._signing_key, device_id=device_id, events=part, issued_at=now)
                self._client.publish(self._topics.ack(device_id), dumps(ack), qos=1)
        if self._on_batch is not None:
            self._on_batch(len(result.new), len(result.duplicates))

    def _check_gaps(self, store: ListenerStore) -> None:
        """Alarm on gaps older than the grace; clear alarms whose gaps have filled."""
        now = self._clock.monotonic()
        for device_id in self._gap_check_due | set(self._gaps_seen):
            if store.gaps(device_id) == 0:
                if self._gaps_seen.pop(device_id, None) is not None and store.clear_alarm(
                    "seq_gap", device_id, self._clock.now()
                ):
                    _LOG.warning("sequence gap of %s closed", device_id)
                continue
            first_seen = self._gaps_seen.setdefault(device_id, now)
            if now - first_seen >= self._gap_grace:
                ranges = store.missing_seqs(device_id)
                detail = "missing seq " + ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)
                if store.raise_alarm("seq_gap", device_id, detail, self._clock.now()):
                    _LOG.error("%s: %s (events a kiosk sent never reached HQ)", device_id, detail)
        self._gap_check_due.clear()
