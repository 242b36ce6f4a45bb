"""The HQ console (/console) in a real browser: Debian's chromium, headless, driven by Playwright,
against HQ's real app under uvicorn on SQLite, seeded through HQ's own use cases (a programme,
members of two stores, kiosk status, telemetry and events through the listener's store, a voucher
redeemed at a kiosk and one written off at a till). Each test is what an operator does; the
screenshots go to out/console/ (the README's are copied from there with KIOSK_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from hq.api.app import create_app
from hq.domain.examples import supermarket_program
from hq.service import operators, till, voucher_keys, vouchers
from hq.service.listener_store import SqlListenerStore
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.service.vouchers import token_digest
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from kiosk.ledger.vouchers import encode_voucher_code, short_code
from sync.schemas import EventMessage
from sync.topics import HqTopics
from tests.hq.test_api import serving

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "console"
DOC_SHOTS = ROOT / "docs" / "screenshots"
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
ISSUED = NOW - dt.timedelta(hours=1)
EXPIRES = NOW + dt.timedelta(days=30)
HQ_KEY = Ed25519PrivateKey.generate()
KIOSK_KEY = Ed25519PrivateKey.generate()
BOOTSTRAP = "bootstrap-token-never-in-a-page"
TOKENS = {"ada": "op_ada_secret", "anna": "op_anna_secret", "vera": "op_vera_secret"}
WIDE: ViewportSize = {"width": 1360, "height": 900}


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


@dataclass(frozen=True)
class Hq:
    url: str
    engine: sa.Engine
    store: SqlListenerStore


def publish(shot: Path, name: str) -> None:
    """Refresh the README's screenshot only when asked: a test run must not change tracked files."""
    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOC_SHOTS / name)


def code(serial: int) -> str:
    return encode_voucher_code(
        KIOSK_KEY, device_id="kiosk-01", serial=serial, issued_at=ISSUED, expires_at=EXPIRES, value_fen=1_000,
        reward_id="off-10",
    )  # fmt: skip


def redemption(seq: int, serial: int) -> EventMessage:
    payload = {
        "device_id": "kiosk-01", "member_id": "M1", "reward_id": "off-10", "points": 1000,
        "voucher_id": f"kiosk-01-{serial}", "voucher_code": code(serial), "value_fen": 1_000,
        "issued_at": ISSUED.isoformat(), "expires_at": EXPIRES.isoformat(), "rules_version": 1,
    }  # fmt: skip
    return EventMessage("kiosk-01", seq, f"e-{seq}", "redemption", ISSUED, True, False, payload)


def seed(engine: sa.Engine) -> SqlListenerStore:
    """M1 (王小明, store S01, 3,000 points), M2 (李娜, store S02); operators ada (admin), anna (store
    S01), vera (viewer); kiosk-01 (S01) online with telemetry, kiosk-02 (S02) offline by its last
    will; kiosk-01's redemptions of vouchers 1 and 2 (one offline), voucher 1 written off at till T1,
    a security event and a gap in kiosk-01's sequence."""
    raw = base64.b64encode(KIOSK_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=HQ_KEY, topics=HqTopics("acme"), now=NOW, by="seed")
        enrol(conn, NewMember("M1", "王小明", home_store="S01"), NOW)
        add_card(conn, "M1", "de700001", 1, NOW)
        enrol(conn, NewMember("M2", "李娜", home_store="S02"), NOW)
        add_card(conn, "M2", "de700002", 1, NOW)
        till.record_purchase(conn, till.Purchase("k-1", "S01", "T1", "O-1", "M1", 300_000, ISSUED), ISSUED)
        till.record_purchase(conn, till.Purchase("k-2", "S02", "T9", "O-2", "M2", 50_000, ISSUED), ISSUED)
        voucher_keys.add_key(conn, "kiosk-01", "S01", raw, valid_from=NOW - dt.timedelta(days=365), now=NOW)
        vouchers.add_till(conn, "T1", "S01", token_digest("till-secret"), NOW)
        roles = {"ada": ("admin", None), "anna": ("store", "S01"), "vera": ("viewer", None)}
        for name, (role, home) in roles.items():
            operators.add_operator(conn, name, role, home, token_digest(TOKENS[name]), NOW)
    store = SqlListenerStore(engine, apply_event)
    store.record_status("kiosk-01", "S01", "online", NOW - dt.timedelta(minutes=5))
    store.record_telemetry(
        "kiosk-01",
        {"device_id": "kiosk-01", "outbox_depth": 2, "rules_version": 1, "reader": {"state": "ok"},
         "extra": {"software": "0.3.1"}},
        NOW - dt.timedelta(minutes=1),
    )  # fmt: skip
    store.record_status("kiosk-02", "S02", "offline", NOW - dt.timedelta(hours=3))
    security = EventMessage(
        "kiosk-01", 4, "e-4", "security.card_denied", NOW - dt.timedelta(minutes=30), False, False,
        {"uid": "de7000ff", "detail": "denied"},
    )  # fmt: skip
    store.record_events([redemption(1, 1), redemption(2, 2), security], ISSUED)  # seq 3 missing: a gap
    with engine.begin() as conn:
        vouchers.consume(
            conn, vouchers.Till("T1", "S01"), vouchers.VoucherPolicy(),
            vouchers.ConsumeRequest("r-1", "A-1", code(1)), NOW - dt.timedelta(minutes=10),
        )  # fmt: skip
    return store


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hq]:
    engine = open_engine(sqlite_url(tmp_path_factory.mktemp("console") / "hq.sqlite"))
    migrate(engine)
    store = seed(engine)
    app = create_app(engine, clock=FixedClock(), signing_key=HQ_KEY, topics=HqTopics("acme"), operator_token=BOOTSTRAP)
    with serving(app) as url:
        yield Hq(url, engine, store)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tools/setup.sh installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def login(browser: Browser, hq: Hq) -> Iterator[Any]:
    """login(name, locale=...) -> a page logged in through the login form."""
    contexts = []

    def login_(name: str, *, locale: str = "en-GB", token: str | None = None) -> Page:
        context = browser.new_context(locale=locale, timezone_id="Asia/Shanghai", viewport=WIDE)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{hq.url}/console")
        expect(page.locator("#login")).to_be_visible()
        page.fill("#login-name", name)
        page.fill("#login-token", token if token is not None else TOKENS.get(name, BOOTSTRAP))
        page.locator("#login-submit").click()
        return page

    yield login_
    for context in contexts:
        context.close()


def shoot(page: Page, name: str, *, full: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def test_login_session_cookie_csrf_and_logout(login, hq: Hq):
    # wrong token -> refused; right one -> fleet; the cookie is HttpOnly + SameSite=Strict; a POST
    # without the CSRF token is 403; log out -> the login page, and the old cookie no longer works
    # once the account is disabled.
    page = login("ada", token="wrong")
    expect(page.locator(".notice.bad")).to_have_text("Unknown operator or wrong token.")
    page.fill("#login-name", "ada")
    page.fill("#login-token", TOKENS["ada"])
    page.locator("#login-submit").click()
    expect(page.locator("h1")).to_have_text("Fleet")
    expect(page.locator("#operator")).to_have_text("ada · admin")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "hq_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert TOKENS["ada"] not in cookie["value"] and TOKENS["ada"] not in page.content()
    with httpx.Client(base_url=hq.url, cookies={"hq_console": cookie["value"]}) as client:
        refused = client.post("/console/cards/de700001/block", data={"note": "no csrf"})
        assert refused.status_code == 403
        csrf = re.search(r'name="csrf" content="([0-9a-f]+)"', client.get("/console/fleet").text)
        assert csrf is not None
        assert client.post("/console/cards/de700001/block", data={"note": "x", "csrf": "0" * 64}).status_code == 403
        for route in ("/console/fleet", "/console/members/M1", "/console/rules"):
            assert HQ_KEY.private_bytes_raw().hex() not in client.get(route).text
    with hq.engine.connect() as conn:
        assert conn.execute(sa.select(t.denylist)).first() is None  # nothing was blocked
    page.locator("#logout").click()
    expect(page.locator(".notice")).to_have_text("Logged out.")
    page.goto(f"{hq.url}/console/fleet")
    expect(page.locator("#login")).to_be_visible()

    # A disabled account's session ends at its next request.
    page = login("anna")
    expect(page.locator("h1")).to_have_text("Fleet")
    with hq.engine.begin() as conn:
        operators.disable_operator(conn, "anna", NOW)
    page.reload()
    expect(page.locator("#login")).to_be_visible()
    with hq.engine.begin() as conn:
        operators.add_operator(conn, "anna", "store", "S01", token_digest(TOKENS["anna"]), NOW)


def test_the_fleet_shows_status_telemetry_gaps_and_live_events(login, hq: Hq):
    page = login("ada")
    rows = page.locator("#fleet tbody tr")
    expect(rows).to_have_count(2)
    first = rows.nth(0).locator("td")
    expect(first.nth(0)).to_have_text("kiosk-01")
    expect(first.nth(2)).to_have_text("online")
    expect(first.nth(4)).to_have_text("0.3.1")
    expect(first.nth(5)).to_have_text("ok")
    expect(first.nth(6)).to_have_text("2")
    expect(first.nth(8)).to_have_text("1")  # seq 3 never arrived
    expect(first.nth(9)).to_have_text("2")  # both redemptions were made offline
    expect(first.nth(10)).to_have_text("1")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("offline")
    expect(page.locator("#event-list tbody tr")).to_have_count(3)
    shoot(page, "fleet-en")
    publish(SHOTS / "fleet-en.png", "console-fleet-en.png")

    page.select_option("#store-filter", "S02")
    page.locator("#filter").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("kiosk-02")
    page.select_option("#store-filter", "S01")
    page.locator("#filter").click()

    # A new event reaches the list without a reload (the page polls).
    late = EventMessage("kiosk-01", 3, "e-3", "security.forged_push", NOW, False, True, {"detail": "bad signature"})
    hq.store.record_events([late], NOW)
    expect(page.locator("#event-list tbody tr").first).to_contain_text("security.forged_push", timeout=8000)


def test_a_member_card_lost_released_replaced_and_points_adjusted(login, hq: Hq):
    page = login("ada", locale="zh-CN")
    page.locator("#nav-members").click()
    expect(page.locator(".hint")).to_contain_text("不保存手机号")
    page.fill("#member-query", "DE:70:00:01")
    page.locator("#member-search").click()
    expect(page.locator("h1")).to_have_text("王小明 · M1")
    expect(page.locator("#member-facts")).to_contain_text("1,000")  # 3,000 earned, 2,000 redeemed
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#cards tr", has_text="de700001").locator("input[name=note]").fill("会员来电挂失")
    page.locator("#cards .report-lost").click()
    expect(page.locator(".notice.ok")).to_contain_text("de700001")
    expect(page.locator("#cards")).to_contain_text("ada: 会员来电挂失")
    page.fill("#new-uid", "de700011")
    page.locator("#add-card").click()
    expect(page.locator("#cards tbody tr")).to_have_count(2)
    page.fill("#adjust-points", "500")
    page.fill("#adjust-reason", "补偿：收银系统故障")
    page.locator("#adjust").click()
    expect(page.locator(".notice.ok")).to_contain_text("1,500")
    expect(page.locator("#history tbody tr").first).to_contain_text("ada: 补偿：收银系统故障")
    shoot(page, "member-zh_CN", full=True)
    publish(SHOTS / "member-zh_CN.png", "console-member-zh_CN.png")
    page.locator("#cards tr", has_text="de700001").locator("input[name=note]").fill("卡找到了")
    page.locator("#cards .release").click()
    expect(page.locator("#cards")).to_contain_text("已解除（ada：卡找到了）")
    with hq.engine.connect() as conn:
        row = conn.execute(sa.select(t.denylist).where(t.denylist.c.uid == "de700001")).one()
        assert (row.status, row.released_by, row.ref) == ("released", "ada", "ada: 会员来电挂失")
        adjust = conn.execute(sa.select(t.entries).where(t.entries.c.kind == "adjust")).one()
        assert adjust.points_delta == 500 and adjust.detail == {"by": "ada", "reason": "补偿：收银系统故障"}
        assert conn.execute(sa.select(t.cards.c.issue_no).where(t.cards.c.uid == "de700011")).scalar() == 2
    page.locator("#locale-switch").click()
    expect(page.locator("h2").first).to_have_text("Cards")


def test_store_staff_act_on_their_store_only_and_a_viewer_not_at_all(login, hq: Hq):
    page = login("anna")
    page.goto(f"{hq.url}/console/members/M2")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#cards input[name=note]").fill("not mine")
    page.locator("#cards .report-lost").click()
    expect(page.locator(".notice.bad")).to_contain_text("does not belong to store S01")

    viewer = login("vera")
    viewer.goto(f"{hq.url}/console/members/M1")
    expect(viewer.locator("#member-facts")).to_be_visible()
    expect(viewer.locator("form.act")).to_have_count(0)  # no forms to press
    expect(viewer.locator("#publish")).to_have_count(0)
    csrf = viewer.locator("meta[name=csrf]").get_attribute("content")
    answer = viewer.request.post(
        f"{hq.url}/console/members/M1/adjust", form={"csrf": csrf or "", "points": "99", "reason": "sneaky"},
        max_redirects=0,
    )  # fmt: skip
    assert answer.status == 303 and "viewer" in answer.headers["location"]
    with hq.engine.connect() as conn:
        assert (
            conn.execute(sa.select(t.entries).where(t.entries.c.detail["reason"].as_string() == "sneaky")).first()
            is None
        )


def test_vouchers_looked_up_reversed_and_cancelled(login, hq: Hq):
    page = login("ada")
    page.locator("#nav-vouchers").click()
    page.fill("#voucher-query", short_code(code(1)).lower())
    page.locator("#voucher-search").click()
    expect(page.locator("h1")).to_have_text("Voucher kiosk-01-1")
    expect(page.locator("#voucher-facts")).to_contain_text("store S01, till T1, order A-1")
    page.fill("form.act input[name=reason]", "sale voided")
    page.locator("#reverse").click()
    expect(page.locator(".notice.ok")).to_contain_text("reversed")
    expect(page.locator("#voucher-history tbody tr").last).to_contain_text("ada")
    shoot(page, "voucher-en")
    publish(SHOTS / "voucher-en.png", "console-voucher-en.png")

    page.locator("#nav-vouchers").click()
    page.fill("#voucher-query", "kiosk-01-2")
    page.locator("#voucher-search").click()
    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("form.act input[name=reason]", "member changed their mind")
    page.locator("#cancel").click()
    expect(page.locator(".notice.ok")).to_contain_text("points went back")
    with hq.engine.connect() as conn:
        states = dict(conn.execute(sa.select(t.vouchers.c.voucher_id, t.vouchers.c.state)).all())
    assert states == {"kiosk-01-1": "reversed", "kiosk-01-2": "cancelled"}


def test_rules_draft_validated_previewed_published_with_history_diff(login, hq: Hq):
    page = login("ada")
    page.locator("#nav-rules").click()
    expect(page.locator("#in-force")).to_have_text("In force: version 1")
    tiers = json.loads(page.locator("#tiers").input_value())
    tiers[1]["threshold"] = "cheap"
    page.fill("#tiers", json.dumps(tiers))
    page.locator("#validate").click()
    expect(page.locator(".notice.bad")).to_contain_text("threshold")

    tiers[1]["threshold"] = 200_000  # silver from ¥2,000
    tiers[1]["name"] = {"zh_CN": "白银会员", "en": "Silver Plus"}
    page.fill("#tiers", json.dumps(tiers, ensure_ascii=False, indent=2))
    page.fill("#preview-members", "M1")
    page.locator("#preview").click()
    expect(page.locator(".notice.ok")).to_have_text("The draft is valid: it becomes version 2.")
    expect(page.locator("#draft-diff")).to_contain_text("Silver Plus")
    expect(page.locator("img.preview")).to_have_count(2)
    shoot(page, "rules-preview-en", full=True)
    publish(SHOTS / "rules-preview-en.png", "console-rules-en.png")
    page.locator("#publish").click()
    expect(page.locator(".notice.ok")).to_have_text("Rules version 2 signed and published.")
    expect(page.locator("#in-force")).to_have_text("In force: version 2")
    expect(page.locator("#versions tbody tr").first).to_contain_text("ada")
    page.locator("#versions tbody tr").first.locator("a").click()
    expect(page.locator("#version-diff")).to_contain_text('+      "threshold": 200000')
    with hq.engine.connect() as conn:
        rules = conn.execute(sa.select(t.publications).where(t.publications.c.version_line == "rules")).all()
    assert [r.version for r in rules] == [1, 2]  # signed and queued for the fleet
