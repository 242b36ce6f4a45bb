"""The write-off loop closed: a kiosk issues a voucher, HQ registers it from the kiosk's event, a till
writes it off through HQ's HTTP API with its own token, and the kiosk's "My vouchers" shows it used,
with where and when, and no QR code to scan; a reversal makes it usable again there; a cancellation
at HQ shows as cancelled there, with the points back.

Real parts: HQ's runtime (listener, feedback pump, uvicorn) on SQLite and on PostgreSQL, a real
Mosquitto, the kiosk's HqLink over a real Ledger, the screen rendered by pygame to a PNG.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.config import OPERATOR_TOKEN_ENV, HqSettings, HttpSettings, MqttSettings
from hq.runtime import HqRuntime
from hq.service import voucher_keys
from hq.service.vouchers import add_till, new_till_token, token_digest
from hq.store import tables as t
from kiosk.model import VoucherState
from tests.hq.test_purchase_reaches_kiosk import PREFIX, TZ, broker, purchase  # noqa: F401 - fixtures
from tests.hq.test_purchase_reaches_kiosk import kiosk as kiosk  # noqa: F401 - the fixture
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration
OUT = Path(__file__).resolve().parents[2] / "out" / "hq"


@pytest.fixture
def hq(db_url, broker, tmp_path, monkeypatch):  # noqa: F811 - this module's HQ serves HTTP too
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hq.domain.examples import supermarket_program
    from hq.service.members import NewMember, add_card, enrol
    from hq.service.programs import add_program

    monkeypatch.setenv(OPERATOR_TOKEN_ENV, "operator-secret")
    key = Ed25519PrivateKey.generate()
    settings = HqSettings(
        database=db_url,
        signing_key=tmp_path / "unused.pem",
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, topic_prefix=PREFIX),
        http=HttpSettings(host="127.0.0.1", port=0),
        publish_interval_s=0.1,
    )
    runtime = HqRuntime(settings, key=key)
    now = dt.datetime.now(TZ)
    with runtime.engine.begin() as conn:
        add_program(conn, supermarket_program(), key=key, topics=runtime.topics, now=now, by="test")
        enrol(conn, NewMember("M1", "王小明"), now)
        add_card(conn, "M1", "de700001", 1, now)
    runtime.start(http=True)
    yield runtime
    runtime.stop()


def _till(hq) -> httpx.Client:
    token = new_till_token()
    with hq.engine.begin() as conn:
        add_till(conn, "T1", "S01", token_digest(token), dt.datetime.now(TZ))
    return httpx.Client(
        base_url=f"http://127.0.0.1:{hq.http_port}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def _register(hq, ledger) -> None:
    raw = ledger.voucher_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    now = dt.datetime.now(TZ)
    with hq.engine.begin() as conn:
        voucher_keys.add_key(conn, "K001", "S01", base64.b64encode(raw).decode(), valid_from=now, now=now)
        voucher_keys.queue_directory(conn, hq.key, hq.topics, now)


def _reconciled(hq, voucher_id: str) -> bool:
    with hq.engine.connect() as conn:
        found = conn.execute(sa.select(t.vouchers.c.event_id).where(t.vouchers.c.voucher_id == voucher_id)).scalar()
    return found is not None


def test_a_voucher_written_off_at_the_till_shows_used_at_the_kiosk_and_usable_again_after_a_reversal(hq, kiosk, db_url):
    link, ledger = kiosk("K001")
    wait_until(lambda: ledger.rules_version() == 1, what="the programme's rules at the kiosk")
    _register(hq, ledger)
    wait_until(lambda: ledger.voucher_keys_version(), what="the key directory at the kiosk")
    purchase(hq, 120_000, "A-1")
    wait_until(lambda: _points(ledger) == 1_200, what="the purchase's points at the kiosk")
    voucher = ledger.redeem("intent-1", "M1", "off-10", online=True)
    link.notify_outbox()
    wait_until(lambda: _reconciled(hq, voucher.voucher_id), what="HQ registering the kiosk's voucher")

    with _till(hq) as till:
        consumed = till.post(
            "/v1/vouchers/consume",
            json={"request_id": "r-1", "till_id": "T1", "order_no": "O-1", "code": voucher.code},
        )
        assert consumed.status_code == 201, consumed.text
        used = wait_until(lambda: _state(ledger, voucher.voucher_id, VoucherState.USED), what="used at the kiosk")
        assert (used.state_store, used.state_till, used.state.usable) == ("S01", "T1", False)
        backend = "postgres" if db_url.startswith("postgresql") else "sqlite"
        _render(ledger, OUT / f"my_vouchers_after_write_off_{backend}.png")

        reversed_ = till.post(
            f"/v1/vouchers/{voucher.voucher_id}/reverse",
            json={"request_id": "r-2", "till_id": "T1", "reason": "sale voided"},
        )
        assert reversed_.status_code == 200, reversed_.text
        again = wait_until(lambda: _state(ledger, voucher.voucher_id, VoucherState.REVERSED), what="reversed")
        assert again.state.usable


def _points(ledger) -> int | None:
    try:
        return ledger.member_view("M1").points
    except LookupError:
        return None


def _state(ledger, voucher_id: str, state: VoucherState):
    view = ledger.voucher(voucher_id)
    return view if view is not None and view.state is state else None


def _render(ledger, path: Path) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from kiosk.ui_state import MyVouchers
    from screens.fonts import find_cjk_font
    from screens.ui import KioskUI

    pygame.init()
    surface = pygame.Surface((800, 480))
    ui = KioskUI(surface, locale="zh_CN", tz=TZ, font_path=find_cjk_font(None), clock=lambda: dt.datetime.now(TZ))
    ui.show(MyVouchers(member=ledger.member_view("M1"), vouchers=ledger.vouchers("M1"), online=True))
    ui.draw()
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(path))


def test_a_voucher_cancelled_at_hq_shows_cancelled_at_the_kiosk_with_its_points_back(hq, kiosk):
    link, ledger = kiosk("K001")
    wait_until(lambda: ledger.rules_version() == 1, what="the programme's rules at the kiosk")
    _register(hq, ledger)
    purchase(hq, 120_000, "A-1")
    wait_until(lambda: _points(ledger) == 1_200, what="the purchase's points at the kiosk")
    voucher = ledger.redeem("intent-1", "M1", "off-10", online=True)
    link.notify_outbox()
    wait_until(lambda: _reconciled(hq, voucher.voucher_id), what="HQ registering the kiosk's voucher")
    wait_until(lambda: _points(ledger) == 200, what="the redemption's debit confirmed by HQ")

    with _till(hq) as till:
        cancelled = till.post(
            f"/v1/vouchers/{voucher.voucher_id}/cancel", json={"request_id": "c-1", "reason": "member changed mind"}
        )
        assert cancelled.status_code == 200, cancelled.text
    wait_until(lambda: _state(ledger, voucher.voucher_id, VoucherState.CANCELLED), what="cancelled at the kiosk")
    wait_until(lambda: _points(ledger) == 1_200, what="the points back at the kiosk")
