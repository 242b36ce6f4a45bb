"""`kiosk hq listen`: receive kiosk events, store them once, acknowledge them; record fleet state.

Events and push acks come through shared subscriptions (`$share/hq/...`), so several listeners
split the load; status and telemetry through plain ones. Events are stored in batches, one
transaction each, and acknowledged only after the commit, one ack message per device and batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from sync.errors import PayloadError, TopicError
from sync.hq.store import HqStore
from sync.mqtt_client import ConnectionSettings, Message, MqttClient, TlsSettings
from sync.ports import Clock, SystemClock
from sync.schemas import EventMessage, dumps, event_ack_json, parse_event, parse_push_ack, parse_status, parse_telemetry
from sync.topics import HqTopics

_LOG = logging.getLogger(__name__)
_STOP = object()


class HqListener:
    def __init__(
        self,
        *,
        store_path: Path,
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
    ) -> None:
        self._topics = HqTopics(prefix, share_group)
        self._store_path = Path(store_path)
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.stored = 0
        self.duplicates = 0
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
        store = HqStore(self._store_path)
        try:
            while True:
                job = self._queue.get()
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
                if stop:
                    return
        finally:
            store.close()

    def _take(self, job: object, store: HqStore, events: list[EventMessage]) -> bool:
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
                store.record_push_ack(ack, self._clock.now())
                if ack.status == "rejected":
                    _LOG.warning(
                        "%s rejected %s v%s: %s %s", device_id, ack.type, ack.version, ack.reason, ack.detail or ""
                    )
            elif kind == "status" and job.payload:
                status = parse_status(job.payload)
                store.record_status(device_id, status.store_id, status.state, status.at)
            elif kind == "telemetry" and job.payload:
                store.record_telemetry(device_id, parse_telemetry(job.payload), self._clock.now())
        except (PayloadError, TopicError) as exc:
            _LOG.warning("ignored message on %s: %s", job.topic, exc)
        return False

    def _store_and_ack(self, store: HqStore, events: list[EventMessage]) -> None:
        result = store.record_events(events, self._clock.now())
        self.stored += len(result.new)
        self.duplicates += len(result.duplicates)
        if result.conflicts:
            _LOG.error(
                "%d events reuse a (device, seq) with another event id; kept in conflicts", len(result.conflicts)
            )
        # Acks go out only after the commit above: an ack is a promise the event is on disk.
        for device_id, ids in result.acknowledged_by_device().items():
            self._client.publish(self._topics.ack(device_id), dumps(event_ack_json(ids)), qos=1)
        if self._on_batch is not None:
            self._on_batch(len(result.new), len(result.duplicates))
