"""Named operator accounts over HQ's real HTTP API, on SQLite and PostgreSQL: a viewer reads and is
refused every write (403), store staff act only on their store's members, tills and purchases, an
admin on everything, each audited change records the operator's name, a disabled account's token
is refused, and the bootstrap token stays an admin. `kiosk-hq operator add|disable|list` from the
shell prints a token once and HQ keeps only its SHA-256."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa
import yaml

from hq.api.app import create_app
from hq.cli import main
from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.members import NewMember, add_card, enrol
from hq.service.operators import add_operator, disable_operator, new_operator_token
from hq.service.programs import add_program
from hq.service.vouchers import token_digest
from hq.store import tables as t
from hq.store.engine import open_engine
from tests.hq.test_api import KEY, NOW, TOPICS, FixedClock, purchase, serving
from tests.hq.test_operator_tools import hq_yaml as hq_yaml  # HQ's config for the shell (a fixture)

pytestmark = pytest.mark.integration
BOOTSTRAP = "bootstrap-token"
ACCOUNTS = {"vera": ("viewer", None), "anna": ("store", "S01"), "li": ("admin", None)}


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明", home_store="S01"), NOW)
        enrol(conn, NewMember("M2", "李四", home_store="S02"), NOW)
        add_card(conn, "M1", "DE700001", 1, NOW)
        add_card(conn, "M2", "DE700002", 1, NOW)
        till.record_purchase(conn, till.Purchase("k-B1", "S02", "T9", "B1", "M2", 10_000, NOW), NOW)
    return engine


@pytest.fixture
def tokens(hq) -> dict[str, str]:
    issued = {}
    with hq.begin() as conn:
        for name, (role, store) in ACCOUNTS.items():
            issued[name] = new_operator_token()
            add_operator(conn, name, role, store, token_digest(issued[name]), NOW)
    return issued


@pytest.fixture
def as_(hq, tokens) -> Iterator[Callable[[str], httpx.Client]]:
    app = create_app(hq, clock=FixedClock(), signing_key=KEY, topics=TOPICS, operator_token=BOOTSTRAP)
    clients: list[httpx.Client] = []

    def client(name: str) -> httpx.Client:
        token = BOOTSTRAP if name == "bootstrap" else tokens[name]
        clients.append(httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30))
        return clients[-1]

    with serving(app) as url:
        yield client
    for opened in clients:
        opened.close()


def override(client: httpx.Client, member_id: str, by: str | None = None) -> httpx.Response:
    body = {"tier": "gold", "reason": "long-standing customer"} | ({"by": by} if by else {})
    return client.put(f"/v1/members/{member_id}/tier-override", json=body)


def last_entry_by(engine, member_id: str) -> str:
    with engine.connect() as conn:
        detail = conn.execute(
            sa.select(t.entries.c.detail)
            .where(t.entries.c.member_id == member_id, t.entries.c.kind == "tier_change")
            .order_by(t.entries.c.entry_id.desc())
        ).scalar()
    return detail["by"]


def test_a_viewer_reads(as_):
    viewer = as_("vera")
    assert [viewer.get(path).status_code for path in ("/v1/alarms", "/v1/members/M1", "/v1/denylist")] == [200] * 3


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/v1/members/M1/tier-override", {"tier": "gold", "reason": "r"}),
        ("post", "/v1/denylist", {"uid": "de700001", "reason": "lost", "note": "n"}),
        ("post", "/v1/members", {"member_id": "M9", "name": "赵六"}),
        ("post", "/v1/tills", {"till_id": "T5", "store_id": "S01"}),
        ("post", "/v1/purchases", purchase()),
    ],
)
def test_a_viewer_is_refused_every_write(as_, method, path, body):
    answer = getattr(as_("vera"), method)(path, json=body)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def test_store_staff_override_their_stores_member_under_their_own_name(as_, hq):
    assert override(as_("anna"), "M1", by="someone else").status_code == 200
    assert last_entry_by(hq, "M1") == "anna"


def test_store_staff_are_refused_another_stores_member(as_):
    answer = override(as_("anna"), "M2")
    assert answer.status_code == 403 and "does not belong to store S01" in answer.json()["message"]


def test_store_staff_enrol_into_their_own_store_by_default(as_, hq):
    assert as_("anna").post("/v1/members", json={"member_id": "M9", "name": "赵六"}).status_code == 201
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.members.c.home_store).where(t.members.c.member_id == "M9")).scalar() == "S01"


def test_store_staff_cannot_enrol_into_another_store(as_):
    answer = as_("anna").post("/v1/members", json={"member_id": "M9", "name": "赵六", "home_store": "S02"})
    assert answer.status_code == 403


def test_store_staff_report_purchases_only_for_their_stores_tills(as_):
    staff = as_("anna")
    assert staff.post("/v1/purchases", json=purchase(store_id="S02", idempotency_key="k-x")).status_code == 403
    assert staff.post("/v1/purchases", json=purchase()).status_code == 201


def test_store_staff_cannot_refund_another_stores_purchase(as_):
    body = {"idempotency_key": "r-1", "purchase_id": "P-S02-B1", "amount_fen": 100, "at": "2026-12-03T10:00:00+08:00"}
    assert as_("anna").post("/v1/refunds", json=body).status_code == 403


def test_store_staff_cannot_block_another_stores_members_card(as_):
    answer = as_("anna").post("/v1/denylist", json={"uid": "de700002", "reason": "lost", "note": "member called"})
    assert answer.status_code == 403


def test_store_staff_cannot_add_a_programme(as_):
    assert as_("anna").post("/v1/programs", json=supermarket_program()).status_code == 403


def test_an_admin_release_is_recorded_under_the_admins_name(as_, hq):
    admin = as_("li")
    assert admin.post("/v1/denylist", json={"uid": "de700002", "reason": "lost", "note": "called"}).status_code == 201
    released = admin.post("/v1/denylist/de700002/release", json={"by": "not me", "note": "card found"})
    assert released.status_code == 200
    assert released.json()["entries"][0]["released_by"] == "li"


def test_an_admin_block_names_the_admin_in_its_reference(as_):
    blocked = as_("li").post("/v1/denylist", json={"uid": "de700001", "reason": "lost", "note": "called"})
    assert blocked.json()["entries"][0]["ref"] == "li: called"


def test_the_bootstrap_token_is_an_admin_that_keeps_the_name_the_body_gives(as_, hq):
    assert override(as_("bootstrap"), "M2", by="desk-zhou").status_code == 200
    assert last_entry_by(hq, "M2") == "desk-zhou"


def test_a_disabled_operators_token_is_refused(as_, hq):
    viewer = as_("vera")
    with hq.begin() as conn:
        disable_operator(conn, "vera", NOW)
    answer = viewer.get("/v1/alarms")
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


# --- HQ's shell -----------------------------------------------------------------------------------


def shell(hq_yaml, capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["--config", str(hq_yaml), "operator", *argv])
    printed = capsys.readouterr()
    return status, printed.out.strip(), printed.err


def stored_digests(hq_yaml) -> list[str]:
    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    with engine.connect() as conn:
        digests = list(conn.execute(sa.select(t.operators.c.token_sha256)).scalars())
    engine.dispose()
    return digests


def test_operator_add_prints_a_token_once_and_hq_keeps_only_its_hash(hq_yaml, capsys):
    status, token, err = shell(hq_yaml, capsys, "add", "anna", "--role", "store", "--store", "S01")
    assert status == 0 and token.startswith("op_") and "cannot show it again" in err
    assert stored_digests(hq_yaml) == [token_digest(token)]


def test_a_store_operator_needs_its_store(hq_yaml, capsys):
    status, _, err = shell(hq_yaml, capsys, "add", "anna", "--role", "store")
    assert status == 1 and "names its store" in err


def test_operator_disable_then_add_gives_the_name_a_new_token(hq_yaml, capsys):
    _, old, _ = shell(hq_yaml, capsys, "add", "li", "--role", "admin")
    assert shell(hq_yaml, capsys, "add", "li", "--role", "admin")[0] == 1  # enabled: disable it first
    assert shell(hq_yaml, capsys, "disable", "li")[0] == 0
    _, new, _ = shell(hq_yaml, capsys, "add", "li", "--role", "viewer")
    assert new != old and stored_digests(hq_yaml) == [token_digest(new)]
    assert shell(hq_yaml, capsys, "list")[1] == "li\tviewer\t-\tenabled"
