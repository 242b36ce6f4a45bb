"""HQ's HTTP API under a real uvicorn on a loopback port, called with httpx, on SQLite and PostgreSQL:
till requests and their retries, refusals with their codes, the body limit, the token, programme
uploads, the OpenAPI description, and identical requests racing each other."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from hq.api.app import create_app
from hq.domain.examples import supermarket_program
from hq.service.listener_store import raise_alarm
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.store import tables as t
from hq.store.migrations import MIGRATIONS
from sync.topics import HqTopics
from tests.sync.broker import free_port

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")
TOKEN = "till-and-operator-token"


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="hq-api-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        add_card(conn, "M1", "DE700001", 1, NOW)
    return engine


@pytest.fixture
def base_url(hq) -> Iterator[str]:
    app = create_app(hq, clock=FixedClock(), signing_key=KEY, topics=TOPICS, operator_token=TOKEN)
    with serving(app) as url:
        yield url


@pytest.fixture
def api(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        yield client


def purchase(amount_fen: int = 12_345, **changes: Any) -> dict[str, Any]:
    body = {
        "idempotency_key": "S01-T1-0001",
        "store_id": "S01",
        "till_id": "T1",
        "order_no": "A-1001",
        "member_id": "M1",
        "amount_fen": amount_fen,
        "at": "2026-12-03T10:00:00+08:00",
        "paid_with": "cash",
    }
    return body | changes


def count(engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# --- till ----------------------------------------------------------------------------------------


def test_a_purchase_earns_points_and_its_retry_gets_the_first_answer(api, hq):
    # POST a purchase -> 201 with the points; the same POST again -> 200, replayed, nothing counted twice.
    first = api.post("/v1/purchases", json=purchase())
    assert first.status_code == 201, first.text
    assert first.json() == {
        "purchase_id": "P-S01-A-1001", "member_id": "M1", "points": 123, "rules_version": 1,
        "tier": "regular", "balance_fen": 0, "replayed": False,
    }  # fmt: skip
    again = api.post("/v1/purchases", json=purchase())
    assert again.status_code == 200 and again.json() == first.json() | {"replayed": True}
    member = api.get("/v1/members/M1").json()
    assert (member["spend_fen"], member["tier"], member["overdraft_points"]) == (12_345, "regular", 0)
    assert [lot["points"] for lot in member["lots"]] == [123]
    (entry,) = api.get("/v1/members/M1/history").json()["entries"]
    assert (entry["kind"], entry["points_delta"], entry["ref"]) == ("earn", 123, "P-S01-A-1001")


def test_refunds_and_topups_answer_once_and_replay(api):
    api.post("/v1/purchases", json=purchase(10_001))
    refund = {"idempotency_key": "r1", "purchase_id": "P-S01-A-1001", "amount_fen": 10_001, "at": NOW.isoformat()}
    first = api.post("/v1/refunds", json=refund)
    assert first.status_code == 201 and first.json()["points_reversed"] == 100
    assert api.post("/v1/refunds", json=refund).json() == first.json() | {"replayed": True}
    topup = {"idempotency_key": "t1", "store_id": "S01", "till_id": "T1", "member_id": "M1", "paid_fen": 50_000,
             "at": NOW.isoformat()}  # fmt: skip
    answer = api.post("/v1/topups", json=topup)
    assert answer.status_code == 201 and (answer.json()["bonus_fen"], answer.json()["balance_fen"]) == (20_000, 70_000)
    spend = api.post(
        "/v1/purchases", json=purchase(50_000, idempotency_key="k2", order_no="A-2", paid_with="stored_value")
    )
    assert spend.status_code == 422 and spend.json()["error"] == "first_day_limit"


def test_an_idempotency_key_reused_for_another_body_is_a_409(api):
    api.post("/v1/purchases", json=purchase(5_000))
    refused = api.post("/v1/purchases", json=purchase(6_000))
    assert refused.status_code == 409
    assert refused.json()["error"] == "idempotency_conflict" and "S01-T1-0001" in refused.json()["message"]


def test_a_naive_time_is_refused_naming_the_field(api, hq):
    refused = api.post("/v1/purchases", json=purchase(at="2026-12-03T10:00:00"))
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", "at"] and "UTC offset" in error["msg"]
    assert count(hq, t.purchases) == 0


OUT_OF_RANGE = [
    ("amount_fen", 0),
    ("amount_fen", 2**53),
    ("amount_fen", "100"),
    ("amount_fen", 100.0),
    ("amount_fen", True),
    ("member_id", "M1; DROP TABLE"),
    ("store_id", "S" * 65),
    ("paid_with", "cheque"),
    ("at", "2026-12-03 10:00"),
    ("at", 1_796_263_200),
    ("unexpected", 1),
]


def test_out_of_range_input_is_refused_naming_the_field(api, hq):
    for field, value in OUT_OF_RANGE:  # one server for all: validation does not depend on the backend
        refused = api.post("/v1/purchases", json=purchase(**{field: value}))
        assert refused.status_code == 422, (field, value)
        assert [error["loc"][-1] for error in refused.json()["detail"]] == [field], (field, value)
    assert count(hq, t.purchases) == 0


def test_bodies_over_a_mebibyte_are_refused_declared_or_streamed(api, hq):
    padding = {"idempotency_key": "k", "pad": "x" * (1024 * 1024)}
    declared = api.post("/v1/purchases", json=padding)
    assert declared.status_code == 413 and declared.json()["error"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"pad": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    streamed = api.post("/v1/purchases", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"] == "body_too_large"
    assert count(hq, t.purchases) == 0


def test_an_unknown_member_is_a_404(api):
    refused = api.post("/v1/purchases", json=purchase(member_id="NOBODY"))
    assert refused.status_code == 404 and refused.json() == {
        "error": "not_found",
        "message": "member NOBODY does not exist",
    }
    assert api.get("/v1/members/NOBODY").status_code == 404
    assert api.get("/v1/members/NOBODY/history").status_code == 404


def test_routes_need_the_token(base_url, hq):
    # No token, a wrong one, another scheme: 401 with WWW-Authenticate; health and docs stay open.
    with httpx.Client(base_url=base_url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            refused = anonymous.post("/v1/members", json={"member_id": "M2", "name": "李娜"}, headers=headers)
            assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert anonymous.post("/v1/purchases", json=purchase()).status_code == 401
        assert anonymous.get("/v1/alarms").status_code == 401
        assert anonymous.get("/healthz").json() == {"ok": True, "schema_version": MIGRATIONS[-1].version}
        assert anonymous.get("/openapi.json").status_code == 200
    assert count(hq, t.members) == 1


# --- operators -----------------------------------------------------------------------------------


def test_an_operator_enrols_a_member_gives_a_card_and_overrides_the_tier(api, hq):
    created = api.post("/v1/members", json={"member_id": "M2", "name": "李娜", "birthday": "1992-05-01"})
    assert created.status_code == 201 and created.json() == {"member_id": "M2"}
    again = api.post("/v1/members", json={"member_id": "M2", "name": "李娜"})
    assert again.status_code == 409 and again.json()["error"] == "member_exists"
    future = api.post("/v1/members", json={"member_id": "M3", "name": "x", "birthday": "2027-01-01"})
    assert future.status_code == 422 and future.json()["error"] == "invalid_input"
    card = api.post("/v1/members/M2/cards", json={"uid": "DE700002", "issue_no": 1})
    assert card.status_code == 200 and card.json() == {"member_id": "M2", "uid": "de700002"}
    taken = api.post("/v1/members/M2/cards", json={"uid": "de700001", "issue_no": 1})
    assert taken.status_code == 422 and taken.json()["error"] == "card_taken"
    override = {"tier": "gold", "by": "ops-wang", "reason": "store manager's complaint #42"}
    assert api.put("/v1/members/M2/tier-override", json=override).json() == {"member_id": "M2", "tier": "gold"}
    unknown = api.put("/v1/members/M2/tier-override", json=override | {"tier": "platinum"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_tier"
    member = api.get("/v1/members/M2").json()
    assert (member["tier"], member["tier_floor"], member["birthday"]) == ("gold", "regular", "1992-05-01")
    assert api.put("/v1/members/M2/tier-override", json=override | {"tier": None}).json()["tier"] == "regular"
    first = api.get("/v1/members/M2/history", params={"limit": 1}).json()
    assert first["entries"][0]["detail"]["to"] == "regular" and first["next_before"] is not None
    second = api.get("/v1/members/M2/history", params={"limit": 1, "before": first["next_before"]}).json()
    assert second["entries"][0]["detail"] | {"measure": 0} == {
        "from": "regular", "to": "gold", "reason": "override", "measure": 0, "by": "ops-wang",
    }  # fmt: skip
    assert second["next_before"] is None


def test_a_programme_upload_names_the_bad_field_and_a_good_one_becomes_current(api, hq):
    document = supermarket_program()
    document["topup"]["bonuses"][1]["min_fen"] = 100
    refused = api.post("/v1/programs", json=document)
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_program"
    assert "topup.bonuses[1].min_fen" in refused.json()["message"]
    created = api.post("/v1/programs", json=supermarket_program())
    assert created.status_code == 201 and created.json() == {"version": 2}
    current = api.get("/v1/programs/current").json()
    assert (current["version"], current["created_by"], current["document"]) == (2, "operator", supermarket_program())
    with hq.connect() as conn:
        rules = sa.select(t.publications.c.version).where(t.publications.c.version_line == "rules")
        assert conn.execute(rules).scalars().all() == [1, 2]  # both versions queued for the fleet


def test_alarms_list_open_ones_newest_first(api, hq):
    raise_alarm(hq, "overdraft", "M1", "600 points beyond what HQ holds", NOW)
    raise_alarm(hq, "card_rollback", "de700001", "K001: older image", NOW)
    with hq.begin() as conn:
        conn.execute(t.alarms.update().where(t.alarms.c.kind == "overdraft").values(cleared_at=NOW))
    assert [a["kind"] for a in api.get("/v1/alarms").json()["alarms"]] == ["card_rollback", "overdraft"]
    assert [a["kind"] for a in api.get("/v1/alarms", params={"open": "true"}).json()["alarms"]] == ["card_rollback"]


def test_the_openapi_document_lists_every_route_with_its_request_schema(api):
    doc = api.get("/openapi.json").json()
    routes = {(method.upper(), path): op for path, ops in doc["paths"].items() for method, op in ops.items()}
    bodies = {
        ("POST", "/v1/purchases"): "PurchaseRequest",
        ("POST", "/v1/refunds"): "RefundRequest",
        ("POST", "/v1/topups"): "TopupRequest",
        ("POST", "/v1/members"): "NewMemberRequest",
        ("POST", "/v1/members/{member_id}/cards"): "CardRequest",
        ("PUT", "/v1/members/{member_id}/tier-override"): "TierOverrideRequest",
        ("PUT", "/v1/members/{member_id}/pin"): "PinRequest",
        ("POST", "/v1/members/{member_id}/pin/unlock"): "PinUnlockRequest",
        ("POST", "/v1/denylist"): "BlockRequest",
        ("POST", "/v1/denylist/{uid}/release"): "ReleaseRequest",
        ("POST", "/v1/vouchers/lookup"): "LookupRequest",
        ("POST", "/v1/vouchers/consume"): "ConsumeRequest",
        ("POST", "/v1/vouchers/{voucher_id}/reverse"): "ReverseRequest",
        ("POST", "/v1/vouchers/{voucher_id}/cancel"): "CancelRequest",
        ("POST", "/v1/tills"): "NewTillRequest",
        ("POST", "/v1/devices/{device_id}/voucher-keys"): "VoucherKeyRequest",
        ("POST", "/v1/devices/{device_id}/voucher-keys/revoke"): "RevokeKeyRequest",
    }
    reads = {
        ("GET", "/v1/voucher-keys"), ("GET", "/v1/vouchers/{voucher_id}"),
        ("GET", "/v1/members/{member_id}"), ("GET", "/v1/members/{member_id}/history"),
        ("GET", "/v1/programs/current"), ("GET", "/v1/alarms"), ("GET", "/healthz"), ("GET", "/v1/denylist"),
        ("GET", "/v1/wheel/audit"),
    }  # fmt: skip
    assert set(routes) == set(bodies) | reads | {("POST", "/v1/programs")}
    for route, model in bodies.items():
        schema = routes[route]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, route
    program_body = routes[("POST", "/v1/programs")]["requestBody"]["content"]["application/json"]
    assert program_body["schema"]["type"] == "object" and "supermarket" in program_body["examples"]
    for route, op in routes.items():
        assert op["summary"] and op["tags"], route
        assert "$ref" in op["responses"][min(op["responses"])]["content"]["application/json"]["schema"], route
        if route != ("GET", "/healthz"):
            assert op["security"] == [{"token": []}] and "401" in op["responses"], route
    at = doc["components"]["schemas"]["PurchaseRequest"]["properties"]["at"]
    assert at["format"] == "date-time"


# --- races ---------------------------------------------------------------------------------------


def race(base_url: str, path: str, body: dict[str, Any], n: int = 8) -> list[httpx.Response]:
    """`n` clients post the same body at the same moment."""
    start = threading.Barrier(n)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            start.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


def test_identical_purchases_racing_count_once_and_get_one_answer(base_url, hq):
    answers = race(base_url, "/v1/purchases", purchase(100_000))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({repr(a.json() | {"replayed": None}) for a in answers}) == 1
    assert answers[0].json()["tier"] == "silver"
    assert count(hq, t.purchases) == 1 and count(hq, t.lots) == 1
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.members.c.spend_fen)).scalar_one() == 100_000


def test_identical_topups_racing_credit_once(base_url, hq):
    body = {"idempotency_key": "t-race", "store_id": "S01", "till_id": "T1", "member_id": "M1", "paid_fen": 50_000,
            "at": NOW.isoformat()}  # fmt: skip
    answers = race(base_url, "/v1/topups", body)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert {a.json()["balance_fen"] for a in answers} == {70_000}
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.members.c.balance_fen)).scalar_one() == 70_000


def test_identical_full_refunds_racing_refund_once(api, base_url, hq):
    api.post("/v1/purchases", json=purchase(10_001))
    body = {"idempotency_key": "r-race", "purchase_id": "P-S01-A-1001", "amount_fen": 10_001, "at": NOW.isoformat()}
    answers = race(base_url, "/v1/refunds", body)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert {a.json()["points_reversed"] for a in answers} == {100}
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.purchases.c.refunded_fen)).scalar_one() == 10_001


def test_an_operator_blocks_a_lost_card_and_releases_it_after_review(api, hq):
    blocked = api.post("/v1/denylist", json={"uid": "DE700001", "reason": "lost", "note": "member called, ticket 77"})
    assert blocked.status_code == 201
    (entry,) = blocked.json()["entries"]
    assert (entry["uid"], entry["reason"], entry["source"], entry["status"]) == (
        "de700001",
        "lost",
        "operator",
        "blocked",
    )
    released = api.post("/v1/denylist/DE700001/release", json={"by": "ops-wang", "note": "found it in her bag"})
    (entry,) = released.json()["entries"]
    assert (entry["status"], entry["released_by"], entry["note"]) == ("released", "ops-wang", "found it in her bag")
    again = api.post("/v1/denylist/DE700001/release", json={"by": "ops-wang", "note": "twice"})
    assert again.status_code == 404
