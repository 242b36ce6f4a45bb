"""The loop closed: a till reports a purchase to HQ, HQ earns the points, and the kiosk's member
screen shows them, its spend and its tier progress; a card counter HQ learnt from kiosk A makes
kiosk B refuse the card image A has moved past.

Real parts: HQ's runtime (listener, feedback pump) on SQLite and on PostgreSQL, a real Mosquitto,
the kiosk's HqLink over a real Ledger, and the member screen rendered by pygame to a PNG.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.config import HqSettings, MqttSettings
from hq.domain.examples import supermarket_program
from hq.runtime import HqRuntime
from hq.service import till
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from kiosk.ledger import Ledger, OfflineLimits
from sync.link import HqLink
from tests.sync.broker import Mosquitto
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "kiosk/v1"
OUT = Path(__file__).resolve().parents[2] / "out" / "hq"


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        import time

        return time.monotonic()


@pytest.fixture
def broker(tmp_path):
    (tmp_path / "broker").mkdir()
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hq(db_url, broker, tmp_path):
    key = Ed25519PrivateKey.generate()
    settings = HqSettings(
        database=db_url,
        signing_key=tmp_path / "unused.pem",
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, topic_prefix=PREFIX),
        publish_interval_s=0.1,
    )
    runtime = HqRuntime(settings, key=key)
    now = dt.datetime.now(TZ)
    with runtime.engine.begin() as conn:
        add_program(conn, supermarket_program(), key=key, topics=runtime.topics, now=now, by="test")
        enrol(conn, NewMember("M1", "王小明"), now)
        add_card(conn, "M1", "de700001", 1, now)
    runtime.start(http=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def kiosk(hq, broker, tmp_path):
    started = []

    def start(device_id: str) -> tuple[HqLink, Ledger]:
        ledger = Ledger.open(
            tmp_path / device_id / "ledger.db",
            device_id=device_id,
            clock=Clock(),
            tz=TZ,
            voucher_key=Ed25519PrivateKey.generate(),
            offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
        )
        link = HqLink(
            device_id=device_id, store_id="S01", host="127.0.0.1", port=broker.port, tls=None, username=None,
            password=None, keepalive_s=5, topic_prefix=PREFIX, hq_public_keys=[hq.key.public_key()], ledger=ledger,
            telemetry_source=dict, clock=Clock(), drain_rate_per_s=None, software_version="test",
            state_path=tmp_path / device_id / "sync-state.sqlite", reconnect_min_s=1, reconnect_max_s=2,
        )  # fmt: skip
        link.start()
        started.append((link, ledger))
        return link, ledger

    yield start
    for link, ledger in started:
        link.stop()
        ledger.close()


def purchase(hq, amount_fen: int, order: str) -> till.PurchaseResult:
    now = dt.datetime.now(TZ)
    with hq.engine.begin() as conn:
        return till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M1", amount_fen, now), now)


def test_a_till_purchase_shows_up_on_the_kiosks_member_screen(hq, kiosk, db_url):
    link, ledger = kiosk("K001")
    wait_until(lambda: ledger.rules_version() == 1, what="the programme's rules at the kiosk")
    purchase(hq, 120_000, "A-1")  # 1,200 yuan: silver at once, 1,200 points at x1
    view = wait_until(lambda: _points_shown(ledger, 1_200), what="the purchase's points at the kiosk")
    assert view.tier.code == "silver" and view.progress.next_tier is not None
    assert (view.progress.next_tier.code, view.progress.current, view.progress.still_needed) == (
        "gold",
        120_000,
        380_000,
    )
    backend = "postgres" if db_url.startswith("postgresql") else "sqlite"
    _render(view, OUT / f"member_after_purchase_{backend}.png")


def _points_shown(ledger: Ledger, points: int):
    try:
        view = ledger.member_view("M1")
    except LookupError:  # the member has not reached this kiosk yet
        return None
    return view if view.points == points else None


def _render(view, path: Path) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from kiosk.ui_state import MemberHome
    from screens.fonts import find_cjk_font
    from screens.ui import KioskUI

    pygame.init()
    surface = pygame.Surface((800, 480))
    ui = KioskUI(surface, locale="zh_CN", tz=TZ, font_path=find_cjk_font(None), clock=lambda: dt.datetime.now(TZ))
    ui.show(MemberHome(member=view, online=True))
    ui.draw()
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(path))


def test_a_card_image_another_kiosk_moved_past_is_refused_once_hq_fed_the_counter_back(hq, kiosk, broker):
    # A card is copied (its image) at counter 0; kiosk A redeems with it (A's event, as its link
    # sends it, says the card now holds counter 3);
    # HQ reconciles A's event and feeds the counter to the fleet; the restored image at kiosk B
    # is a rollback. Before HQ fed counters back, B accepted it.
    from drivers.emulator.cards import MifareClassic1K
    from kiosk.cards.keyfile import MasterKeys
    from kiosk.cards.personalize import personalize
    from kiosk.cards.verify import Rollback, verify_tap
    from sync.mqtt_client import ConnectionSettings, MqttClient
    from sync.schemas import EventMessage, dumps
    from tests.cards.conftest import TEST_MASTER
    from tests.cards.reader import FAULTS, Reader

    keys = MasterKeys(TEST_MASTER, key_id=3)
    card = MifareClassic1K(bytes.fromhex("de700001"))
    personalize(Reader().present(card), keys, "M1", 1, FAULTS)
    image = {block: card.block(block) for block in range(64)}

    _, ledger_b = kiosk("K00B")
    wait_until(lambda: ledger_b.rules_version() == 1, what="the programme's rules at kiosk B")
    purchase(hq, 50_000, "B-1")  # 500 points for the redemption
    wait_until(lambda: _points_shown(ledger_b, 500), what="member at kiosk B")
    kiosk_a = MqttClient(ConnectionSettings("K00A", "127.0.0.1", broker.port))
    kiosk_a.start()
    assert kiosk_a.wait_connected(10)
    now = dt.datetime.now(TZ)
    redemption = {"member_id": "M1", "points": 100, "voucher_id": "K00A-1", "reward_id": "off-10",
                  "card_uid": "de700001", "card_counter": 3, "rules_version": 1}  # fmt: skip
    event = EventMessage("K00A", 1, "e-K00A-1", "redemption", now, False, False, redemption)
    kiosk_a.publish_and_wait(f"{PREFIX}/kiosk/K00A/events", dumps(event.to_json()))
    kiosk_a.stop()
    wait_until(lambda: (s := ledger_b.card_state(bytes.fromhex("de700001"))) and s.last_counter == 3, what="counter")
    for block, data in image.items():
        card.set_block(block, data)
    verdict = verify_tap(Reader().present(card), keys, ledger_b, FAULTS)
    assert verdict == Rollback(0, 3)
