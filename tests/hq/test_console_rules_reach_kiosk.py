"""Rules published from the console reach a kiosk and change its member screen.

Real parts: HQ's runtime (HTTP with the console, feedback pump, listener) on SQLite, a real
Mosquitto, a kiosk's HqLink over a real Ledger, Debian's chromium driven by Playwright. An admin
logs in, raises the gold tier's name and lowers its threshold in the draft, previews and publishes;
the kiosk accepts rules version 2 and the member, silver under version 1, is gold on its screen
(rendered by pygame to out/console/kiosk-member-after-publish.png).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, expect

from hq.config import HqSettings, HttpSettings, MqttSettings
from hq.domain.examples import supermarket_program
from hq.runtime import HqRuntime
from hq.service import till
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from kiosk.ledger import Ledger, OfflineLimits
from sync.link import HqLink
from tests.hq import test_till_page
from tests.sync.broker import Mosquitto, free_port
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "kiosk/v1"
OUT = Path(__file__).resolve().parents[2] / "out" / "console"
TOKEN = "console-e2e-bootstrap-token"
browser = test_till_page.browser  # the same fixture: Debian's chromium, one per module


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    (tmp_path / "broker").mkdir()
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hq(broker: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HqRuntime]:
    monkeypatch.setenv("KIOSK_HQ_OPERATOR_TOKEN", TOKEN)
    key = Ed25519PrivateKey.generate()
    settings = HqSettings(
        database=f"sqlite+pysqlite:///{tmp_path / 'hq.sqlite'}",
        signing_key=tmp_path / "unused.pem",
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, topic_prefix=PREFIX),
        http=HttpSettings(port=free_port()),
        publish_interval_s=0.1,
    )
    runtime = HqRuntime(settings, key=key)
    now = dt.datetime.now(TZ)
    with runtime.engine.begin() as conn:
        add_program(conn, supermarket_program(), key=key, topics=runtime.topics, now=now, by="test")
        enrol(conn, NewMember("M1", "王小明"), now)
        add_card(conn, "M1", "de700001", 1, now)
        # ¥3,000: silver under version 1 (gold from ¥5,000)
        till.record_purchase(conn, till.Purchase("k-1", "S01", "T1", "A-1", "M1", 300_000, now), now)
    runtime.start(http=True)
    yield runtime
    runtime.stop()


@pytest.fixture
def kiosk(hq: HqRuntime, broker: Mosquitto, tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.open(
        tmp_path / "K001" / "ledger.db", device_id="K001", clock=Clock(), tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
    )  # fmt: skip
    link = HqLink(
        device_id="K001", store_id="S01", host="127.0.0.1", port=broker.port, tls=None, username=None,
        password=None, keepalive_s=5, topic_prefix=PREFIX, hq_public_keys=[hq.key.public_key()], ledger=ledger,
        telemetry_source=dict, clock=Clock(), drain_rate_per_s=None, software_version="test",
        state_path=tmp_path / "K001" / "sync-state.sqlite", reconnect_min_s=1, reconnect_max_s=2,
    )  # fmt: skip
    link.start()
    yield ledger
    link.stop()
    ledger.close()


def _member(ledger: Ledger, tier: str) -> Any:
    try:
        view = ledger.member_view("M1")
    except LookupError:
        return None
    return view if view.tier.code == tier else None


def test_rules_published_in_the_console_change_the_kiosks_member_screen(hq, kiosk, browser: Browser):
    wait_until(lambda: kiosk.rules_version() == 1, what="the programme's rules at the kiosk")
    before = wait_until(lambda: _member(kiosk, "silver"), what="M1 as silver at the kiosk")
    assert before.rules_version == 1
    url = f"http://127.0.0.1:{hq.http_port}"
    context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{url}/console/rules")
        page.fill("#login-name", "operator")
        page.fill("#login-token", TOKEN)
        page.locator("#login-submit").click()
        expect(page.locator("#in-force")).to_have_text("In force: version 1")
        tiers = json.loads(page.locator("#tiers").input_value())
        gold = next(tier for tier in tiers if tier["code"] == "gold")
        gold["threshold"] = 250_000  # gold from ¥2,500
        gold["name"] = {"zh_CN": "金卡会员", "en": "Gold Club"}
        page.fill("#tiers", json.dumps(tiers, ensure_ascii=False, indent=2))
        page.fill("#preview-members", "M1")
        page.locator("#preview").click()
        expect(page.locator("img.preview")).to_have_count(2)
        page.locator("#publish").click()
        expect(page.locator(".notice.ok")).to_have_text("Rules version 2 signed and published.")
    finally:
        context.close()
    after = wait_until(lambda: _member(kiosk, "gold"), what="M1 as gold at the kiosk under version 2")
    assert after.rules_version == 2 and after.tier.name["en"] == "Gold Club"
    _render(after, OUT / "kiosk-member-after-publish.png")


def _render(view: Any, path: Path) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from kiosk.ui_state import MemberHome
    from screens.fonts import find_cjk_font
    from screens.ui import KioskUI

    pygame.display.init()
    pygame.font.init()
    ui = KioskUI(pygame.Surface((800, 480)), locale="en", tz=TZ, font_path=find_cjk_font(None), clock=Clock().now)
    ui.show(MemberHome(view, True))
    ui.render_png(path)
