"""Nothing lost or doubled across HQ crashes: the real `kiosk-hq serve` process is killed with
SIGKILL at random moments while a kiosk redeems; after restarts HQ has debited every redemption
exactly once, on SQLite and on PostgreSQL.

The kiosk's outbox resends until HQ's signed ack; HQ stores and applies an event in one
transaction and acks after the commit, so a kill before the commit loses nothing (resent) and
after it doubles nothing ((device_id, seq) already there)."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.store import tables as t
from hq.store.engine import open_engine
from hq.store.migrations import migrate
from kiosk.ledger import Ledger, OfflineLimits
from sync.keys import generate_keypair
from sync.link import HqLink
from sync.topics import HqTopics
from tests.sync.broker import Mosquitto
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[2]
REDEMPTIONS = 12
COST = 800  # "eggs" in the supermarket programme (no per-member limit)


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


def start_hq(config: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hq", "--config", str(config), "serve"],
            cwd=REPO, stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip


def test_redemptions_survive_hq_being_killed_at_random_moments(db_url, tmp_path):
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    key = generate_keypair(tmp_path / "hq.key", tmp_path / "hq.pub")
    config = tmp_path / "hq.yaml"
    config.write_text(yaml.safe_dump({
        "database": db_url, "signing_key": str(tmp_path / "hq.key"), "publish_interval_s": 0.1,
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "topic_prefix": "kiosk/v1"},
        "http": {"host": "127.0.0.1", "port": 0},
    }))  # fmt: skip
    engine = open_engine(db_url)
    migrate(engine)
    now = dt.datetime.now(TZ)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=key, topics=HqTopics("kiosk/v1"), now=now, by="t")
        enrol(conn, NewMember("M1", "王小明"), now)
        till.record_purchase(conn, till.Purchase("k1", "S01", "T1", "O1", "M1", 2_000_000, now), now)  # 20,000 pts
    ledger = Ledger.open(
        tmp_path / "kiosk" / "ledger.db", device_id="K001", clock=Clock(), tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=1_000_000, redemptions_per_day=1000),
    )  # fmt: skip
    link = HqLink(
        device_id="K001", store_id="S01", host="127.0.0.1", port=broker.port, tls=None, username=None,
        password=None, keepalive_s=5, topic_prefix="kiosk/v1", hq_public_keys=[key.public_key()], ledger=ledger,
        telemetry_source=dict, clock=Clock(), drain_rate_per_s=None, software_version="test",
        state_path=tmp_path / "kiosk" / "sync-state.sqlite", reconnect_min_s=1, reconnect_max_s=2, ack_timeout_s=2.0,
    )  # fmt: skip
    log = tmp_path / "hq.log"
    hq = start_hq(config, log)
    link.start()
    rng = random.Random(int(os.environ.get("KIOSK_KILL9_SEED", "7")))
    kills = 0
    try:
        wait_until(lambda: ledger.rules_version() == 1 and ledger.outbox_depth() == 0, timeout=30, what="kiosk set up")
        wait_until(lambda: _member_points(ledger) == 20_000, timeout=30, what="member at the kiosk")
        for n in range(REDEMPTIONS):
            ledger.redeem(f"I-{n:03d}", "M1", "eggs", online=link.online)
            link.notify_outbox()
            time.sleep(rng.uniform(0.0, 0.3))
            if rng.random() < 0.4:
                hq.send_signal(signal.SIGKILL)
                hq.wait(10)
                kills += 1
                hq = start_hq(config, log)
        wait_until(lambda: ledger.outbox_depth() == 0, timeout=60, what="every event acknowledged")
    finally:
        link.stop()
        hq.send_signal(signal.SIGTERM)
        hq.wait(20)
        ledger.close()
        broker.stop()
    assert kills >= 2, "the seed should kill HQ a few times"
    with engine.connect() as conn:
        redemptions = conn.execute(sa.select(sa.func.count()).where(t.entries.c.kind == "redemption")).scalar_one()
        left = conn.execute(sa.select(sa.func.sum(t.lots.c.points_left))).scalar_one()
        events = conn.execute(sa.select(sa.func.count()).select_from(t.kiosk_events)).scalar_one()
    assert redemptions == REDEMPTIONS and int(left) == 20_000 - REDEMPTIONS * COST
    assert events == REDEMPTIONS
    engine.dispose()


def _member_points(ledger: Ledger) -> int | None:
    try:
        return ledger.member_view("M1").points
    except LookupError:
        return None
