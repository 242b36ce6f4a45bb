"""The feedback pump: turns committed changes into signed member updates and sends what is unsent.

One thread per HQ process. Preparing is transactional (`hq.service.feedback`); sending holds the
publications' row locks while it waits for the broker's PUBACKs, so two HQ processes never send
out of version order, and a crash re-sends the same bytes (kiosks answer "current").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hq.service.denylist import prepare_denylist
from hq.service.feedback import prepare_member_update
from hq.service.publications import mark_sent, unsent
from sync.mqtt_client import MqttClient
from sync.ports import Clock
from sync.topics import HqTopics

_LOG = logging.getLogger(__name__)


class FeedbackPump:
    def __init__(
        self,
        engine: Engine,
        client: MqttClient,
        *,
        key: Ed25519PrivateKey,
        topics: HqTopics,
        clock: Clock,
        interval_s: float = 0.2,
        on_sent: Callable[[int], None] | None = None,
        member_scope: str = "fleet",
    ) -> None:
        self._engine = engine
        self._client = client
        self._key = key
        self._topics = topics
        self._clock = clock
        self._interval = interval_s
        self._on_sent = on_sent
        self._member_scope = member_scope
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hq-feedback", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def nudge(self) -> None:
        """Something changed: prepare and send now rather than at the next interval."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the database or broker is away: try again next round
                _LOG.exception("feedback round failed; retrying")

    def run_once(self) -> int:
        with self._engine.begin() as conn:
            prepare_member_update(conn, self._key, self._topics, self._clock.now(), member_scope=self._member_scope)
        with self._engine.begin() as conn:
            prepare_denylist(conn, self._key, self._topics, self._clock.now())
        if not self._client.connected:
            return 0
        sent = 0
        with self._engine.begin() as conn:
            for publication in unsent(conn):
                if not self._client.publish_and_wait(
                    publication.topic, publication.payload, qos=1, retain=publication.retain, timeout=10
                ):
                    break  # not acknowledged: the rest waits, in order, for the next round
                mark_sent(conn, publication.publication_id, self._clock.now())
                sent += 1
        self.sent += sent
        if sent and self._on_sent is not None:
            self._on_sent(sent)
        return sent
