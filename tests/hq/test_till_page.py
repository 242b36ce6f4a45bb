"""The cashier's screen (/till) in a real browser: Debian's chromium, headless, driven by Playwright,
against HQ's real app under uvicorn on SQLite. Each test is what a cashier does: set the till up,
scan (type + Enter, as a USB scanner does), read the verdict, confirm, reverse; screenshots go to
out/till/ and the two in the docs are copied from there."""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, Page, Request, Route, expect, sync_playwright

from hq.api.app import create_app
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from kiosk.ledger.vouchers import encode_voucher_code, short_code
from sync.topics import HqTopics
from tests.hq.test_api import serving

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "till"
DOC_SHOTS = ROOT / "docs" / "screenshots"


def publish(shot, name: str) -> None:
    """Refresh the README's screenshot only when asked (KIOSK_UPDATE_SCREENSHOTS=1): a test run must
    not change tracked files."""
    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOC_SHOTS / name)


TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
OPERATOR_TOKEN = "operator-token-never-in-the-page"
KIOSK_KEY = Ed25519PrivateKey.generate()  # kiosk-01, store S01 (the tills' store)
OTHER_KEY = Ed25519PrivateKey.generate()  # kiosk-09, store S09
WIDE = {"width": 1280, "height": 800}
SMALL = {"width": 800, "height": 600}
ENTER_GUARD_MS = 300  # till.js


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


@dataclass(frozen=True)
class Hq:
    url: str
    tokens: dict[str, str]  # till id -> its token


def raw_public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def voucher(serial: int, *, value_fen: int = 5_000, expires: dt.datetime | None = None, **changes: Any) -> str:
    fields: dict[str, Any] = {
        "device_id": "kiosk-01",
        "serial": serial,
        "issued_at": NOW - dt.timedelta(hours=1),
        "expires_at": expires or NOW + dt.timedelta(days=30),
        "value_fen": value_fen,
        "reward_id": "coffee-voucher-50",
    }
    key = changes.pop("key", KIOSK_KEY)
    return encode_voucher_code(key, **(fields | changes))


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hq]:
    engine = open_engine(sqlite_url(tmp_path_factory.mktemp("till-page") / "hq.sqlite"))
    migrate(engine)
    app = create_app(
        engine, clock=FixedClock(), signing_key=Ed25519PrivateKey.generate(), topics=HqTopics("acme/kiosk"),
        operator_token=OPERATOR_TOKEN,
    )  # fmt: skip
    with serving(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as op:
        since = (NOW - dt.timedelta(days=365)).isoformat()
        for device, store, key in (("kiosk-01", "S01", KIOSK_KEY), ("kiosk-09", "S09", OTHER_KEY)):
            added = op.post(
                f"/v1/devices/{device}/voucher-keys",
                json={"store_id": store, "public_key": raw_public(key), "valid_from": since},
            )
            assert added.status_code == 200, added.text
        tokens = {}
        for till in ("T1", "T2", "T3"):
            created = op.post("/v1/tills", json={"till_id": till, "store_id": "S01"})
            assert created.status_code == 201, created.text
            tokens[till] = created.json()["token"]
        yield Hq(url, tokens)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tools/setup.sh installs it): no browser to test the page")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_till(browser: Browser, hq: Hq) -> Iterator[Any]:
    """open_till(till, locale=..., viewport=...) -> a page with the till set up through its settings form."""
    contexts = []

    def open_(till: str = "T1", *, locale: str = "en-GB", viewport: dict[str, int] = WIDE, shot: str = "") -> Page:
        context = browser.new_context(locale=locale, timezone_id="Asia/Shanghai", viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{hq.url}/till")
        expect(page.locator("#settings")).to_be_visible()
        expect(page.locator("#set-url")).to_have_value(hq.url)  # the page's own origin by default
        page.fill("#set-till", till)
        page.fill("#set-token", hq.tokens[till])
        if shot:
            shoot(page, shot)
        page.locator("#settings-save").click()
        expect(page.locator("#till")).to_be_visible()
        expect(page.locator("#scan")).to_be_focused()
        return page

    yield open_
    for context in contexts:
        context.close()


def scan(page: Page, text: str) -> None:
    """What a USB scanner does: type into whatever has focus, then Enter (the text in one go: typing
    160 characters key by key costs seconds and tests nothing more)."""
    page.keyboard.insert_text(text)
    page.keyboard.press("Enter")


def enter(page: Page) -> None:
    """The cashier presses Enter to act on what is shown, after the page's guard against a scanner's
    second Enter (CR LF) has passed: a person takes longer than 0.3 s to read the screen."""
    page.wait_for_timeout(ENTER_GUARD_MS)
    page.keyboard.press("Enter")


def type_order(page: Page, order_no: str) -> None:
    """The cashier clicks the order field, types the number (as a person: not a scanner's burst), Enter."""
    page.locator("#order").click()
    page.keyboard.type(order_no, delay=80)
    page.keyboard.press("Enter")
    expect(page.locator("#scan")).to_be_focused()


def shoot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def assert_fits(page: Page) -> None:
    """Nothing scrolls or is cut off: the page, the verdict panel and the main button fit the screen."""
    sizes = page.evaluate(
        """() => {
        const r = document.getElementById('result');
        const b = document.getElementById('act-main').getBoundingClientRect();
        const d = document.documentElement;
        return {sw: d.scrollWidth, sh: d.scrollHeight, w: innerWidth, h: innerHeight,
                rs: r.scrollHeight, rc: r.clientHeight, bottom: b.bottom, right: b.right};
    }"""
    )
    assert sizes["sw"] <= sizes["w"] and sizes["sh"] <= sizes["h"], sizes
    assert sizes["rs"] <= sizes["rc"] + 1, sizes
    assert sizes["bottom"] <= sizes["h"] and sizes["right"] <= sizes["w"], sizes


def test_the_page_is_static_and_holds_no_secret(hq: Hq):
    # GET /till -> the page with a strict CSP; its files contain no token; /till/ redirects; not in OpenAPI.
    with httpx.Client(base_url=hq.url) as client:
        page = client.get("/till")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-cache"
        script = client.get("/till/till.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert client.get("/till/till.css").status_code == 200
        assert client.get("/till/", follow_redirects=True).url.path == "/till"
        assert client.get("/till/nothing.js").status_code == 404
        assert not any(path.startswith("/till") for path in client.get("/openapi.json").json()["paths"])
        for body in (page.text, script.text):
            assert OPERATOR_TOKEN not in body and not any(token in body for token in hq.tokens.values())


def test_a_scanned_voucher_is_valid_then_written_off_then_used(open_till):
    # settings -> scan -> VALID ¥50.00 -> order no. + Enter -> WRITTEN OFF -> the same code -> USED at T1.
    page = open_till("T1", shot="settings")
    expect(page.locator("#verdict")).to_have_text("READY")
    shoot(page, "ready")
    code = voucher(1)
    scan(page, code)
    expect(page.locator("#verdict")).to_have_text("VALID")
    expect(page.locator("#amount")).to_have_text("¥50.00")
    expect(page.locator("#details")).to_contain_text("coffee-voucher-50")
    expect(page.locator("#details")).to_contain_text("2027-01-02 10:00")  # expiry, in the till's time zone
    expect(page.locator("#act-main")).to_have_text("Confirm write-off")
    expect(page.locator("#order")).to_be_focused()  # no order number yet: the cashier types it
    assert_fits(page)
    shoot(page, "valid")
    publish(SHOTS / "valid.png", "till-valid-en.png")

    scan(page, "A-1001")  # typed into the order field, Enter confirms
    expect(page.locator("#verdict")).to_have_text("WRITTEN OFF ✓")
    expect(page.locator("#details")).to_contain_text("A-1001")
    expect(page.locator("#last-text")).to_contain_text("kiosk-01-1")
    expect(page.locator("#scan")).to_be_focused()
    shoot(page, "written-off")

    page.locator("#result").click()  # a stray click leaves the focus in the scan field
    expect(page.locator("#scan")).to_be_focused()
    scan(page, code)
    expect(page.locator("#verdict")).to_have_text("USED")
    expect(page.locator("#details")).to_contain_text("at till T1, 2026-12-03 10:00, order A-1001")
    expect(page.locator("#reason")).to_have_text("HQ: already used at till T1 at 2026-12-03 10:00")  # local time
    expect(page.locator("#act-main")).to_be_hidden()
    shoot(page, "used")


def test_expired_edited_and_other_store_codes_are_refused_with_hqs_reason(open_till):
    # An expired code -> EXPIRED; one character changed -> INVALID; another store's kiosk -> OTHER STORE.
    page = open_till("T1")
    scan(page, voucher(2, expires=NOW - dt.timedelta(days=1), issued_at=NOW - dt.timedelta(days=31)))
    expect(page.locator("#verdict")).to_have_text("EXPIRED")
    expect(page.locator("#reason")).to_contain_text("HQ: expired at 2026-12-02 10:00")
    expect(page.locator("#act-main")).to_be_hidden()
    shoot(page, "expired")

    code = voucher(3)
    edited = code[:12] + ("B" if code[12] != "B" else "C") + code[13:]
    scan(page, edited)
    expect(page.locator("#verdict")).to_have_text("INVALID")
    expect(page.locator("#reason")).to_contain_text("HQ: signature does not match")
    expect(page.locator("#amount")).to_be_hidden()  # a forged code's value is not shown
    expect(page.locator("#act-main")).to_be_hidden()
    shoot(page, "invalid")

    scan(page, voucher(1, device_id="kiosk-09", key=OTHER_KEY))
    expect(page.locator("#verdict")).to_have_text("OTHER STORE")
    expect(page.locator("#reason")).to_contain_text("S09")

    # HQ has not heard of this one (its kiosk was offline) and it is worth more than HQ then accepts:
    # the lookup says so before the cashier can confirm.
    type_order(page, "F-2")
    scan(page, voucher(9, value_fen=12_345))
    expect(page.locator("#verdict")).to_have_text("UNKNOWN")
    expect(page.locator("#reason")).to_contain_text("above the 10000 fen")
    expect(page.locator("#act-main")).to_be_hidden()
    shoot(page, "refused-over-cap")


def test_reverse_last_then_the_short_code_writes_it_off_again(open_till):
    # write off -> Reverse last -> Enter -> REVERSED; its short code typed by hand -> VALID -> Enter -> WRITTEN OFF.
    page = open_till("T1")
    code = voucher(4, value_fen=2_550)
    page.locator("#order").click()
    page.keyboard.type("B-7", delay=120)  # a person types; a scanner (below) is a burst
    scan(page, code)  # the scanner fires while the order field has focus: the QR text is not the order
    expect(page.locator("#verdict")).to_have_text("VALID")
    expect(page.locator("#order")).to_have_value("B-7")
    expect(page.locator("#scan")).to_be_focused()
    enter(page)
    expect(page.locator("#verdict")).to_have_text("WRITTEN OFF ✓")

    page.locator("#reverse-last").click()
    expect(page.locator("#verdict")).to_have_text("REVERSE?")
    expect(page.locator("#details")).to_contain_text("kiosk-01-4")
    shoot(page, "reverse-ask")
    enter(page)
    expect(page.locator("#verdict")).to_have_text("REVERSED")
    expect(page.locator("#last")).to_be_hidden()
    shoot(page, "reversed")

    typed = short_code(code).replace("-", " ").lower()  # as a cashier might type it
    scan(page, typed)
    expect(page.locator("#verdict")).to_have_text("VALID")
    expect(page.locator("#amount")).to_have_text("¥25.50")
    page.locator("#act-main").click()
    expect(page.locator("#verdict")).to_have_text("WRITTEN OFF ✓")
    expect(page.locator("#details")).to_contain_text("B-7")


def test_a_lost_answer_is_retried_with_the_same_request_id(open_till):
    # consume reaches HQ but its answer is lost -> HQ UNREACHABLE -> Retry: same request id -> replayed.
    page = open_till("T1")
    sent: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Route, request: Request) -> None:
        sent.append(request.post_data_json)
        if len(sent) == 1:
            route.fetch()  # HQ writes the voucher off ...
            route.abort("connectionreset")  # ... and the till never hears it
        else:
            route.continue_()

    page.route("**/v1/vouchers/consume", lose_the_first_answer)
    type_order(page, "C-3")
    scan(page, voucher(5))
    expect(page.locator("#verdict")).to_have_text("VALID")
    enter(page)
    expect(page.locator("#verdict")).to_have_text("HQ UNREACHABLE")
    expect(page.locator("#act-main")).to_have_text("Retry")
    shoot(page, "unreachable")
    page.fill("#order", "C-4")  # an edited order number does not change the request being retried
    page.locator("#act-main").click()
    expect(page.locator("#verdict")).to_have_text("WRITTEN OFF ✓")
    expect(page.locator("#reason")).to_contain_text("already recorded")
    assert len(sent) == 2 and sent[0] == sent[1] and sent[0]["order_no"] == "C-3"


def test_too_many_short_codes_ask_for_the_qr(open_till, hq: Hq):
    # 20 short-code lookups a minute (HQ's default) -> the 21st from the page is a 429.
    page = open_till("T2")
    with httpx.Client(base_url=hq.url, headers={"Authorization": f"Bearer {hq.tokens['T2']}"}) as till:
        for _ in range(20):
            assert till.post("/v1/vouchers/lookup", json={"short_code": "AAAA-BBBB"}).status_code == 200
    scan(page, "AAAA-BBBB")
    expect(page.locator("#verdict")).to_have_text("TOO MANY SHORT CODES")
    expect(page.locator("#reason")).to_have_text("Too many short-code lookups, scan the QR code.")
    shoot(page, "rate-limited")


def test_the_chinese_screen(open_till):
    # zh-CN browser -> Chinese settings and verdicts; USED names the till; the toggle switches to English.
    page = open_till("T3", locale="zh-CN", shot="zh_CN-settings")
    expect(page.locator("h1")).to_have_text("收银核销")
    code = voucher(6, value_fen=1_000)
    type_order(page, "D-88")
    scan(page, code)
    expect(page.locator("#verdict")).to_have_text("有效")
    expect(page.locator("#amount")).to_have_text("¥10.00")
    expect(page.locator("#act-main")).to_have_text("确认核销")
    assert_fits(page)
    shoot(page, "zh_CN-valid")
    enter(page)
    expect(page.locator("#verdict")).to_have_text("核销成功 ✓")
    scan(page, code)
    expect(page.locator("#verdict")).to_have_text("已使用")
    expect(page.locator("#details")).to_contain_text("收银台 T3，2026-12-03 10:00，订单 D-88")
    shoot(page, "zh_CN-used")
    publish(SHOTS / "zh_CN-used.png", "till-used-zh_CN.png")
    page.locator("#locale-toggle").click()
    expect(page.locator("#verdict")).to_have_text("USED")
    expect(page.locator("#scan")).to_be_focused()


def test_an_800x600_till_screen_fits(open_till):
    # The smallest till screen: VALID with its button and the reverse footer, then the reverse
    # question in Chinese, all without scrolling.
    page = open_till("T1", viewport=SMALL)
    type_order(page, "E-1")
    scan(page, voucher(7, value_fen=9_999))
    expect(page.locator("#verdict")).to_have_text("VALID")
    expect(page.locator("#amount")).to_have_text("¥99.99")
    enter(page)
    expect(page.locator("#verdict")).to_have_text("WRITTEN OFF ✓")
    scan(page, voucher(8))
    page.keyboard.press("Enter")  # the scanner's CR LF: a second Enter at once does not confirm
    expect(page.locator("#verdict")).to_have_text("VALID")
    page.wait_for_timeout(ENTER_GUARD_MS)
    expect(page.locator("#verdict")).to_have_text("VALID")
    expect(page.locator("#last")).to_be_visible()
    assert_fits(page)
    shoot(page, "800x600")
    page.locator("#reverse-last").click()
    expect(page.locator("#verdict")).to_have_text("REVERSE?")
    assert_fits(page)
    page.locator("#locale-toggle").click()
    expect(page.locator("#verdict")).to_have_text("撤销核销？")
    assert_fits(page)
    shoot(page, "800x600-zh_CN-reverse")
