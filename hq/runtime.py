"""The HQ service process (`python -m hq serve`): the composition root that wires it all.

- the database (SQLite or PostgreSQL), migrated at start;
- `HqListener` over `SqlListenerStore`: kiosk events stored and reconciled once, acks signed;
- `FeedbackPump`: member updates and programmes out to the fleet, signed, in order;
- the full member snapshot in parts, retained, every `feedback.snapshot_interval_s`;
- the HTTP API (FastAPI under uvicorn) for tills and operators.

Several processes may run against one PostgreSQL and one share group: deduplication and ordering
live in the database (see hq.service.listener_store and hq.service.feedback).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hq.config import HqSettings, MqttSettings, operator_token
from hq.publisher import FeedbackPump
from hq.service.jobs import expire_due_lots
from hq.service.listener_store import SqlListenerStore
from hq.service.reconcile import apply_event
from hq.service.snapshots import prepare_member_snapshots
from hq.store.engine import open_engine
from hq.store.migrations import migrate
from sync.hq.listener import HqListener
from sync.keys import load_private_key
from sync.mqtt_client import ConnectionSettings, MqttClient, TlsSettings
from sync.topics import HqTopics

_LOG = logging.getLogger(__name__)


@dataclass
class ZoneClock:
    """Wall clock in HQ's zone plus a monotonic clock (the Clock protocol of sync.ports)."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def monotonic(self) -> float:
        return time.monotonic()


def _tls(mqtt: MqttSettings, cert: Path | None, key: Path | None) -> TlsSettings | None:
    if mqtt.tls_ca is None:
        return None
    return TlsSettings(mqtt.tls_ca, cert, key)


class HqRuntime:
    def __init__(self, settings: HqSettings, *, key: Ed25519PrivateKey | None = None) -> None:
        self.settings = settings
        self.clock = ZoneClock(settings.tz)
        self.key = key or load_private_key(settings.signing_key)
        self.topics = HqTopics(settings.mqtt.topic_prefix, settings.mqtt.share_group)
        self.engine: Engine = open_engine(settings.database)
        migrate(self.engine)
        mqtt = settings.mqtt
        self.publisher_client = MqttClient(
            ConnectionSettings(
                client_id=mqtt.publisher_client_id,
                host=mqtt.host,
                port=mqtt.port,
                tls=_tls(mqtt, mqtt.publisher_tls_cert or mqtt.tls_cert, mqtt.publisher_tls_key or mqtt.tls_key),
                persistent_session=False,
            )
        )
        self.pump = FeedbackPump(
            self.engine,
            self.publisher_client,
            key=self.key,
            topics=self.topics,
            clock=self.clock,
            interval_s=settings.publish_interval_s,
            member_scope=settings.feedback.member_scope,
        )
        self.listener = HqListener(
            signing_key=self.key,
            store_factory=lambda: SqlListenerStore(self.engine, apply_event),
            prefix=mqtt.topic_prefix,
            host=mqtt.host,
            port=mqtt.port,
            client_id=mqtt.client_id,
            tls=_tls(mqtt, mqtt.tls_cert, mqtt.tls_key),
            share_group=mqtt.share_group,
            clock=self.clock,
            on_batch=lambda new, duplicates: self.pump.nudge() if new else None,
        )
        self._jobs_stop = threading.Event()
        self._jobs_thread: threading.Thread | None = None
        self._snapshot_thread: threading.Thread | None = None
        self._http: object | None = None
        self._http_thread: threading.Thread | None = None
        self.http_port: int | None = None

    def start(self, *, http: bool = True) -> None:
        self.publisher_client.start()
        self.listener.start()
        self.pump.start()
        self._jobs_thread = threading.Thread(target=self._jobs, name="hq-jobs", daemon=True)
        self._jobs_thread.start()
        self._snapshot_thread = threading.Thread(target=self._snapshots, name="hq-snapshots", daemon=True)
        self._snapshot_thread.start()
        if http:
            self._start_http()
        _LOG.info("HQ serving: database %s, broker %s:%d", self.engine.url.render_as_string(hide_password=True),
                  self.settings.mqtt.host, self.settings.mqtt.port)  # fmt: skip

    def _jobs(self) -> None:
        """Points lapse by the clock: every few minutes, whatever has expired since."""
        while True:
            try:
                if expire_due_lots(self.engine, self.clock.now()):
                    self.pump.nudge()
            except Exception:  # noqa: BLE001 - the database is away: next round
                _LOG.exception("expiring points failed; retrying later")
            if self._jobs_stop.wait(self.settings.expiry_interval_s):
                return

    def _snapshots(self) -> None:
        """The retained full member snapshot, when the last one (by any HQ process) is due."""
        feedback = self.settings.feedback
        every = dt.timedelta(seconds=feedback.snapshot_interval_s)
        while True:
            try:
                with self.engine.begin() as conn:
                    published = prepare_member_snapshots(
                        conn, self.key, self.topics, self.clock.now(), member_scope=feedback.member_scope,
                        part_bytes=feedback.snapshot_part_bytes, due_after=every,
                    )  # fmt: skip
                for snapshot in published:
                    _LOG.info("member snapshot for %s: %d member(s) in %d part(s) from version %d",
                              snapshot.scope, snapshot.members, snapshot.parts, snapshot.first_version)  # fmt: skip
                if published:
                    self.pump.nudge()
            except Exception:  # noqa: BLE001 - the database is away, or a member too large: next round
                _LOG.exception("preparing the member snapshot failed; retrying later")
            if self._jobs_stop.wait(min(feedback.snapshot_interval_s, 60.0)):
                return

    def _start_http(self) -> None:
        import uvicorn

        from hq.api.app import create_app

        app = create_app(
            self.engine,
            clock=self.clock,
            signing_key=self.key,
            topics=self.topics,
            operator_token=operator_token(),
            vouchers=self.settings.vouchers,
            api_docs=self.settings.http.api_docs,
        )
        config = uvicorn.Config(
            app, host=self.settings.http.host, port=self.settings.http.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        self._http = server
        self._http_thread = threading.Thread(target=server.run, name="hq-http", daemon=True)
        self._http_thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not self._http_thread.is_alive():
                raise RuntimeError(f"the HTTP API did not start on {self.settings.http.host}:{self.settings.http.port}")
            time.sleep(0.02)
        self.http_port = server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._jobs_stop.set()
        if self._http is not None:
            self._http.should_exit = True  # type: ignore[attr-defined]
            if self._http_thread is not None:
                self._http_thread.join(10)
        self.listener.stop()
        self.pump.stop()
        self.publisher_client.stop()
        self.engine.dispose()
