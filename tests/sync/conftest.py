"""Fixtures for the HQ-link tests: a real Mosquitto (plain, and TLS + ACL), a real Ledger, HQ keys,
and helpers that start the kiosk's `HqLink` and the HQ listener against them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules
from sync.hq.listener import HqListener
from sync.link import HqLink
from sync.mqtt_client import TlsSettings
from tests.sync.broker import Mosquitto
from tests.sync.pki import TestPki
from tests.sync.sample_broker import SampleBroker

TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "acme/kiosk"
STORE = "S01"


class StoreClock:
    """Real time in the store's timezone (links run real threads against a real broker)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; a generous deadline only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def clock() -> StoreClock:
    return StoreClock()


@pytest.fixture
def hq_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def broker(tmp_path: Path):
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Mosquitto(folder)
    server.start()
    yield server
    server.stop()


ACL = """\
# HQ may read every kiosk topic and write every HQ topic.
user hq
topic read {p}/kiosk/#
topic write {p}/hq/#
# A kiosk (username = certificate CN = device id) writes only its own topics and reads only
# the fleet's, its store's and its own HQ topics.
pattern write {p}/kiosk/%u/#
pattern read {p}/hq/fleet/#
pattern read {p}/hq/device/%u/#
user K001
topic read {p}/hq/store/{s}/#
user K002
topic read {p}/hq/store/{s}/#
"""


class TlsBroker:
    def __init__(self, folder: Path) -> None:
        self.pki = TestPki(folder / "pki")
        server = self.pki.issue("localhost", server=True)
        acl = folder / "acl"
        acl.write_text(ACL.format(p=PREFIX, s=STORE))
        self.server = Mosquitto(
            folder,
            allow_anonymous=False,
            extra_config=(
                f"cafile {self.pki.ca}\ncertfile {server.cert}\nkeyfile {server.key}\n"
                "require_certificate true\nuse_identity_as_username true\n"
                f"acl_file {acl}\n"
            ),
        )
        self.host = "localhost"  # the name in the server certificate
        self.port = self.server.port

    def tls_for(self, identity: str) -> TlsSettings:
        files = self.pki.issue(identity)
        return TlsSettings(self.pki.ca, files.cert, files.key)


@pytest.fixture
def tls_broker(tmp_path: Path):
    folder = tmp_path / "tls-broker"
    folder.mkdir()
    broker = TlsBroker(folder)
    broker.server.start()
    yield broker
    broker.server.stop()


@pytest.fixture
def sample_broker(tmp_path: Path):
    """Mosquitto started from the shipped docs/broker/ samples (see tests/sync/sample_broker.py)."""
    folder = tmp_path / "sample-broker"
    folder.mkdir()
    broker = SampleBroker(folder)
    broker.server.start()
    yield broker
    broker.server.stop()


@pytest.fixture
def open_ledger(tmp_path: Path, clock: StoreClock) -> Callable[..., Ledger]:
    """Open a real Ledger on tmp_path/<device>/ledger.db (each call = one more connection)."""
    opened: list[Ledger] = []
    voucher_key = Ed25519PrivateKey.generate()

    def _open(device_id: str = "K001") -> Ledger:
        ledger = Ledger.open(
            tmp_path / device_id / "ledger.db",
            device_id=device_id,
            clock=clock,
            tz=TZ,
            voucher_key=voucher_key,
            offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
        )
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        try:
            ledger.close()
        except Exception:  # already closed by the link's worker
            pass


def member_entry(member_id: str, points: int) -> dict[str, Any]:
    now = dt.datetime.now(TZ)
    return {
        "member_id": member_id,
        "name": "张三明",
        "spend_fen": 0,
        "cards": [],
        "lots": [
            {
                "lot_id": f"{member_id}-L1",
                "points": points,
                "earned_at": (now - dt.timedelta(days=1)).isoformat(),
                "expires_at": (now + dt.timedelta(days=365)).isoformat(),
            }
        ],
    }


def seeded_ledger(open_ledger: Callable[..., Ledger], device_id: str = "K001") -> Ledger:
    """Demo rules v1 and one member with plenty of points: redemptions can happen."""
    ledger = open_ledger(device_id)
    if ledger.rules_version() is None:
        ledger.apply_rules(1, demo_rules())
        ledger.apply_member_snapshot(1, [member_entry("M1", 1_000_000)], (), full=True)
    return ledger


@pytest.fixture
def start_link(tmp_path: Path, clock: StoreClock, hq_key: Ed25519PrivateKey, open_ledger: Callable[..., Ledger]):
    """Start an HqLink for a device; stopped at teardown."""
    links: list[HqLink] = []

    def _start(
        host: str,
        port: int,
        device_id: str = "K001",
        *,
        tls: TlsSettings | None = None,
        keys: list | None = None,
        **overrides: Any,
    ) -> HqLink:
        params: dict[str, Any] = dict(
            device_id=device_id,
            store_id=STORE,
            host=host,
            port=port,
            tls=tls,
            username=None,
            password=None,
            keepalive_s=5,
            topic_prefix=PREFIX,
            hq_public_keys=keys if keys is not None else [hq_key.public_key()],
            ledger_factory=lambda: open_ledger(device_id),
            telemetry_source=lambda: {"reader": {"state": "ok"}},
            clock=clock,
            drain_rate_per_s=None,
            software_version="9.9.9",
            state_path=tmp_path / device_id / "sync-state.sqlite",
            reconnect_min_s=1,
            reconnect_max_s=2,
            ack_timeout_s=3.0,
        )
        params.update(overrides)
        link = HqLink(**params)
        link.start()
        links.append(link)
        return link

    yield _start
    for link in links:
        link.stop()


@pytest.fixture
def start_listener(tmp_path: Path, hq_key: Ed25519PrivateKey):
    listeners: list[HqListener] = []

    def _start(
        host: str,
        port: int,
        *,
        client_id: str = "hq-1",
        db: str = "hq.sqlite",
        tls: TlsSettings | None = None,
        **overrides: Any,
    ) -> HqListener:
        listener = HqListener(
            store_path=tmp_path / db,
            signing_key=hq_key,
            prefix=PREFIX,
            host=host,
            port=port,
            client_id=client_id,
            tls=tls,
            reconnect_min_s=1,
            reconnect_max_s=2,
            **overrides,
        )
        listener.start()
        assert listener.wait_connected(10), "HQ listener could not connect"
        listeners.append(listener)
        return listener

    yield _start
    for listener in listeners:
        listener.stop()
