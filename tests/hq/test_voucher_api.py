"""The till's voucher API (docs/vouchers.md) under a real uvicorn, called with httpx: tills act
with their own tokens for their own till and store, write a voucher off once even when two tills
race for it (on SQLite and PostgreSQL), an offline replay that met another write-off raises one
alarm, tills fetch the signed key directory, and short-code lookups are rate limited per till."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.engine import Engine

from hq.api.app import create_app
from hq.api.auth import token_digest
from hq.config import VoucherSettings
from hq.domain.examples import supermarket_program
from hq.service import till, voucher_keys, vouchers
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from kiosk.ledger.vouchers import encode_voucher_code, short_code
from sync.envelope import EnvelopeVerifier
from sync.schemas import EventMessage
from sync.topics import HqTopics, Scope
from tests.hq.test_api import serving

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
ISSUED = NOW - dt.timedelta(hours=1)
EXPIRES = NOW + dt.timedelta(days=30)
HQ_KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")
KIOSK_KEY = Ed25519PrivateKey.generate()  # kiosk K001's voucher key, store S1
KIOSK_PUBLIC = base64.b64encode(KIOSK_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
OPERATOR = "operator-token"
TOKENS = {"T1": "till_T1_secret", "T2": "till_T2_secret", "T9": "till_T9_secret"}
STORES = {"T1": "S1", "T2": "S1", "T9": "S2"}


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


def seed(engine: Engine) -> Engine:
    """A programme, member M1 with 1,000 points, kiosk K001's key (store S1), tills T1 and T2 of
    store S1 and T9 of store S2, each with its own token."""
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=HQ_KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        voucher_keys.add_key(conn, "K001", "S1", KIOSK_PUBLIC, valid_from=NOW - dt.timedelta(days=365), now=NOW)
        for till_id, token in TOKENS.items():
            vouchers.add_till(conn, till_id, STORES[till_id], token_digest(token), NOW)
        till.record_purchase(conn, till.Purchase("k-1", "S01", "T1", "O-1", "M1", 100_000, ISSUED), NOW)
    return engine


@pytest.fixture
def both(engine: Engine) -> Engine:
    """Seeded HQ on SQLite and on PostgreSQL: for what concurrency decides."""
    return seed(engine)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Engine]:
    """Seeded HQ on SQLite only: for what the HTTP layer decides."""
    engine = open_engine(sqlite_url(tmp_path / "hq.sqlite"))
    migrate(engine)
    yield seed(engine)
    engine.dispose()


@contextmanager
def running(engine: Engine, settings: VoucherSettings | None = None) -> Iterator[str]:
    app = create_app(
        engine, clock=FixedClock(), signing_key=HQ_KEY, topics=TOPICS, operator_token=OPERATOR, vouchers=settings
    )
    with serving(app) as url:
        yield url


@pytest.fixture
def url(hq: Engine) -> Iterator[str]:
    with running(hq) as base:
        yield base


@contextmanager
def client(base_url: str, token: str | None) -> Iterator[httpx.Client]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        yield http


def voucher_code(serial: int) -> str:
    return encode_voucher_code(
        KIOSK_KEY, device_id="K001", serial=serial, issued_at=ISSUED, expires_at=EXPIRES, value_fen=1_000,
        reward_id="off-10",
    )  # fmt: skip


def redeemed(engine: Engine, *serials: int) -> None:
    """K001's redemption events for vouchers K001-<serial>, reconciled at HQ."""
    with engine.begin() as conn:
        for serial in serials:
            payload = {
                "device_id": "K001", "member_id": "M1", "reward_id": "off-10", "points": 10,
                "voucher_id": f"K001-{serial}", "voucher_code": voucher_code(serial), "value_fen": 1_000,
                "issued_at": ISSUED.isoformat(), "expires_at": EXPIRES.isoformat(), "rules_version": 1,
            }  # fmt: skip
            event = EventMessage("K001", serial, f"e-K001-{serial}", "redemption", ISSUED, False, False, payload)
            apply_event(conn, event, NOW)


def consume_body(serial: int, till_id: str = "T1", **changes: Any) -> dict[str, Any]:
    body = {"request_id": f"r-{till_id}-{serial}", "till_id": till_id, "order_no": f"{till_id}-{serial}",
            "code": voucher_code(serial)}  # fmt: skip
    return body | changes


def registry_row(engine: Engine, voucher_id: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher_id)).first()


def count(engine: Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


# --- write-off -----------------------------------------------------------------------------------


def test_a_write_off_is_201_its_retry_200_replayed_and_another_request_409_already_used(hq, url):
    redeemed(hq, 1)
    with client(url, TOKENS["T1"]) as t1, client(url, TOKENS["T2"]) as t2:
        first = t1.post("/v1/vouchers/consume", json=consume_body(1))
        assert first.status_code == 201, first.text
        assert (first.json()["state"], first.json()["till_id"], first.json()["store_id"]) == ("used", "T1", "S1")
        again = t1.post("/v1/vouchers/consume", json=consume_body(1))
        assert again.status_code == 200 and again.json() == first.json() | {"replayed": True}
        refused = t2.post("/v1/vouchers/consume", json=consume_body(1, "T2"))
    assert refused.status_code == 409 and refused.json()["error"] == "already_used"
    assert refused.json()["message"].startswith("already used at till T1")
    assert (refused.json()["used"]["till_id"], refused.json()["used"]["order_no"]) == ("T1", "T1-1")


def test_two_tills_racing_over_http_write_each_voucher_off_exactly_once(both):
    serials = range(101, 121)
    redeemed(both, *serials)
    start = threading.Barrier(2)
    with running(both) as base, client(base, TOKENS["T1"]) as t1, client(base, TOKENS["T2"]) as t2:
        tills = {"T1": t1, "T2": t2}

        def post(serial: int, till_id: str) -> httpx.Response:
            start.wait()
            return tills[till_id].post("/v1/vouchers/consume", json=consume_body(serial, till_id))

        with ThreadPoolExecutor(2) as pool:
            for serial in serials:
                answers = list(pool.map(post, [serial, serial], ["T1", "T2"]))
                assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
                winner = next(a.json() for a in answers if a.status_code == 201)
                loser = next(a.json() for a in answers if a.status_code == 409)
                assert loser["error"] == "already_used" and loser["used"]["till_id"] == winner["till_id"]
                assert registry_row(both, f"K001-{serial}").used_till == winner["till_id"]


def test_a_till_of_another_store_is_refused_403_other_store(hq, url):
    redeemed(hq, 1)
    with client(url, TOKENS["T9"]) as t9:
        refused = t9.post("/v1/vouchers/consume", json=consume_body(1, "T9"))
    assert refused.status_code == 403 and refused.json()["error"] == "other_store"
    assert registry_row(hq, "K001-1").state == "issued"


def test_an_offline_replay_of_a_voucher_used_elsewhere_is_409_and_raises_one_alarm(both):
    redeemed(both, 1)
    offline = consume_body(1, "T2", request_id="r-offline", offline_at=(NOW - dt.timedelta(hours=2)).isoformat())
    with running(both) as base, client(base, TOKENS["T1"]) as t1, client(base, TOKENS["T2"]) as t2:
        assert t1.post("/v1/vouchers/consume", json=consume_body(1)).status_code == 201
        replays = [t2.post("/v1/vouchers/consume", json=offline) for _ in range(2)]  # the agent replays twice
    for refused in replays:
        assert refused.status_code == 409 and refused.json()["error"] == "already_used", refused.text
        assert refused.json()["used"]["till_id"] == "T1"
    assert count(both, t.alarms, t.alarms.c.kind == "offline_double_use", t.alarms.c.subject == "K001-1") == 1
    assert count(both, t.voucher_history, t.voucher_history.c.action == "double_use") == 1
    assert registry_row(both, "K001-1").used_till == "T1"


# --- who may call --------------------------------------------------------------------------------


def test_a_till_token_acts_only_as_its_own_till(hq, url):
    redeemed(hq, 1)
    with client(url, TOKENS["T1"]) as t1:
        refused = t1.post("/v1/vouchers/consume", json=consume_body(1, "T2"))
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert registry_row(hq, "K001-1").state == "issued"


def test_till_routes_without_a_token_are_401(hq, url):
    redeemed(hq, 1)
    with client(url, None) as anonymous:
        assert anonymous.post("/v1/vouchers/consume", json=consume_body(1)).status_code == 401
        assert anonymous.post("/v1/vouchers/lookup", json={"code": voucher_code(1)}).status_code == 401
        assert anonymous.get("/v1/voucher-keys").status_code == 401
    assert registry_row(hq, "K001-1").state == "issued"


@pytest.mark.parametrize("token", ["disabled", "unknown"])
def test_a_disabled_or_unknown_till_token_is_401(hq, url, token):
    redeemed(hq, 1)
    with hq.begin() as conn:
        conn.execute(t.tills.update().where(t.tills.c.till_id == "T1").values(disabled_at=NOW))
    with client(url, TOKENS["T1"] if token == "disabled" else "till_never_issued") as caller:
        refused = caller.post("/v1/vouchers/consume", json=consume_body(1))
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert registry_row(hq, "K001-1").state == "issued"


def test_the_operator_token_may_act_for_any_till(hq, url):
    redeemed(hq, 1)
    with client(url, OPERATOR) as operator:
        done = operator.post("/v1/vouchers/consume", json=consume_body(1, "T7"))
    assert done.status_code == 201 and done.json()["till_id"] == "T7"
    assert registry_row(hq, "K001-1").used_till == "T7"


# --- the key directory and till credentials ------------------------------------------------------


def test_the_key_directory_is_a_signed_voucher_keys_envelope_listing_the_registered_key(url):
    with client(url, TOKENS["T1"]) as t1:
        answer = t1.get("/v1/voucher-keys")
    assert answer.status_code == 200, answer.text
    verifier = EnvelopeVerifier([HQ_KEY.public_key()], device_id="T1", store_id="S1")
    push = verifier.verify(answer.content, expected_type="voucher_keys", topic_scope=Scope.fleet(), now=NOW)
    (key,) = push.payload["keys"]
    assert (key["device_id"], key["store_id"], key["public_key"], key["revoked_at"]) == (
        "K001", "S1", KIOSK_PUBLIC, None,
    )  # fmt: skip
    assert VoucherKeyDirectory.from_payload(push.payload).verify(voucher_code(1), NOW, store_id="S1").ok


def test_adding_the_same_till_twice_is_a_409(url):
    with client(url, OPERATOR) as operator:
        created = operator.post("/v1/tills", json={"till_id": "T5", "store_id": "S1"})
        again = operator.post("/v1/tills", json={"till_id": "T5", "store_id": "S1"})
    assert created.status_code == 201 and created.json()["token"].startswith("till_")
    assert again.status_code == 409 and again.json()["error"] == "till_exists"
    with client(url, created.json()["token"]) as t5:  # the first token still works
        assert t5.post("/v1/vouchers/lookup", json={"code": voucher_code(1)}).status_code == 200


# --- short codes ---------------------------------------------------------------------------------


def test_short_code_lookups_are_rate_limited_per_till(hq):
    redeemed(hq, 1)
    typed = {"short_code": short_code(voucher_code(1))}
    with (
        running(hq, VoucherSettings(short_code_lookups_per_minute=3)) as base,
        client(base, TOKENS["T1"]) as t1,
        client(base, TOKENS["T2"]) as t2,
    ):
        allowed = [t1.post("/v1/vouchers/lookup", json=typed) for _ in range(3)]
        limited = t1.post("/v1/vouchers/lookup", json=typed)
        other = t2.post("/v1/vouchers/lookup", json=typed)
    assert [a.status_code for a in allowed] == [200] * 3 and allowed[0].json()["verdict"] == "valid"
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other.status_code == 200 and other.json()["voucher_id"] == "K001-1"
