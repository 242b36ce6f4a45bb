"""Our small MQTT client: the only module that imports paho-mqtt.

paho's callback signatures, its network thread and its reconnect logic stay in here. Callers get
plain callbacks (`on_connect(session_present)`, `on_disconnect(reason)`, `on_message(Message)`),
called from paho's network thread: they must be quick and thread-safe (the link only queues work).

Connection policy (docs/mqtt.md "Connection"): MQTT 5 with a persistent session, falling back to
3.1.1 if the broker refuses 5; TLS with CA + client certificate; capped exponential reconnect
backoff; subscriptions are (re)made on every connect because a broker without persistence forgets
them when it restarts.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sync.errors import SyncError

_LOG = logging.getLogger(__name__)


class _OutageIsNotAnError(logging.Filter):
    """paho logs "not connected" at ERROR on every attempt while the broker is away. Offline is a
    normal state for a kiosk (our own reconnect logging says so once, at WARNING); a journal full
    of errors during an outage would send a technician hunting for a fault that is not there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "not connected" in record.getMessage().lower():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return _PAHO_LOG.isEnabledFor(logging.DEBUG)  # kept only when someone asked for DEBUG
        return True


#: paho's own messages, on a child logger so they can be tuned apart from ours.
_PAHO_LOG = logging.getLogger(__name__ + ".paho")
_PAHO_LOG.addFilter(_OutageIsNotAnError())

#: CONNACK codes meaning "I do not speak this protocol version": 0x84 in MQTT 5, 1 in 3.1.1.
_UNSUPPORTED_PROTOCOL = {0x84, 0x01}


@dataclass(frozen=True)
class TlsSettings:
    """CA to trust the broker; the kiosk's own certificate and key (identity = CN)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class ConnectionSettings:
    client_id: str
    host: str
    port: int
    tls: TlsSettings | None = None
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 20
    persistent_session: bool = True
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    max_inflight: int = 100
    prefer_v5: bool = True
    #: MQTT 5 Maximum Packet Size asked of the broker: it then never sends a larger packet.
    max_packet_bytes: int | None = None
    subscriptions: Sequence[tuple[str, int]] = field(default_factory=tuple)


class PublishFailed(SyncError, ConnectionError):
    """paho refused to even queue the message (e.g. payload too large)."""


class MqttClient:
    """One connection to the broker, kept alive in paho's network thread."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        on_connect: Callable[[bool], None] | None = None,
        on_disconnect: Callable[[str], None] | None = None,
        on_message: Callable[[Message], None] | None = None,
        will: Will | None = None,
    ) -> None:
        self._settings = settings
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._on_message = on_message
        self._will = will
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._stopping = False
        self._v5 = settings.prefer_v5
        self._client: paho.Client | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def protocol(self) -> str:
        return "5" if self._v5 else "3.1.1"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def start(self) -> None:
        """Begin connecting in the background; returns at once even if the broker is down."""
        with self._lock:
            self._stopping = False
            self._client = self._build()
            self._begin(self._client)

    def stop(self, *, final: Message | None = None, timeout: float = 5.0) -> None:
        """Optionally publish `final` (e.g. retained offline status), then disconnect cleanly."""
        with self._lock:
            self._stopping = True
            client, self._client = self._client, None
        if client is None:
            return
        if final is not None and self._connected.is_set():
            info = client.publish(final.topic, final.payload, qos=final.qos, retain=final.retain)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass  # lost the connection meanwhile: the broker's last will covers us
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    def set_will(self, will: Will | None) -> None:
        """Used at the next (re)connect; paho sends the will inside CONNECT."""
        self._will = will
        client = self._client
        if client is not None and will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)

    # --- traffic ---------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; QoS 1 messages survive reconnects inside paho's session."""
        client = self._client
        if client is None:
            raise PublishFailed("client is not started")
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise PublishFailed(f"publish to {topic} failed: {paho.error_string(info.rc)}")

    def publish_and_wait(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, timeout: float = 10.0
    ) -> bool:
        """Publish and wait for the broker's PUBACK (tools and tests; the relay never waits)."""
        client = self._client
        if client is None:
            raise PublishFailed("client is not started")
        info = client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            raise PublishFailed(str(exc)) from None
        return info.is_published()

    def resubscribe(self) -> None:
        """Subscribe again: the broker then delivers the retained documents once more."""
        client = self._client
        if client is not None and self._connected.is_set():
            self._subscribe(client)

    def clear_retained(self, topic: str) -> None:
        self.publish(topic, b"", qos=1, retain=True)

    # --- paho plumbing -------------------------------------------------------------------------

    def _build(self) -> paho.Client:
        s = self._settings
        protocol = paho.MQTTv5 if self._v5 else paho.MQTTv311
        kwargs: dict = {}
        if not self._v5:
            kwargs["clean_session"] = not s.persistent_session
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=protocol, reconnect_on_failure=True, **kwargs
        )
        client.enable_logger(_PAHO_LOG)
        client.reconnect_delay_set(max(1, int(s.reconnect_min_s)), max(1, int(s.reconnect_max_s)))
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(0)
        if s.tls is not None:
            client.tls_set(
                ca_certs=str(s.tls.ca_file),
                certfile=str(s.tls.cert_file) if s.tls.cert_file else None,
                keyfile=str(s.tls.key_file) if s.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if self._will is not None:
            w = self._will
            client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        return client

    def _begin(self, client: paho.Client) -> None:
        s = self._settings
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = s.session_expiry_s if s.persistent_session else 0
            if s.max_packet_bytes is not None:
                props.MaximumPacketSize = s.max_packet_bytes
            client.connect_async(
                s.host, s.port, keepalive=s.keepalive_s, clean_start=not s.persistent_session, properties=props
            )
        else:
            client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        client.loop_start()

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if self._v5 and reason_code.value in _UNSUPPORTED_PROTOCOL:
                _LOG.warning("broker refuses MQTT 5 (%s); falling back to 3.1.1", reason_code)
                self._v5 = False
                # Cannot stop paho's loop from its own thread: restart from a helper thread.
                threading.Thread(target=self._restart, args=(client,), name="mqtt-fallback", daemon=True).start()
                return
            _LOG.error("broker refused the connection: %s", reason_code)
            return
        self._subscribe(client)
        self._connected.set()
        _LOG.info(
            "connected to %s:%d (MQTT %s, session present: %s)",
            self._settings.host,
            self._settings.port,
            self.protocol,
            flags.session_present,
        )
        if self._on_connect is not None:
            self._on_connect(bool(flags.session_present))

    def _restart(self, old: paho.Client) -> None:
        old.disconnect()
        old.loop_stop()
        with self._lock:
            if self._stopping:
                return
            self._client = self._build()
            self._begin(self._client)

    def _subscribe(self, client: paho.Client) -> None:
        subs = list(self._settings.subscriptions)
        if not subs:
            return
        if self._v5:
            client.subscribe([(topic, SubscribeOptions(qos=qos)) for topic, qos in subs])
        else:
            client.subscribe(list(subs))

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected:
            _LOG.log(logging.INFO if self._stopping else logging.WARNING, "disconnected from broker: %s", reason_code)
            if self._on_disconnect is not None:
                self._on_disconnect(str(reason_code))

    def _handle_message(self, client, userdata, msg) -> None:
        if self._on_message is None:
            return
        try:
            self._on_message(Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))
        except Exception:  # noqa: BLE001 - an exception here would kill paho's network thread
            _LOG.exception("message handler failed for %s", msg.topic)
