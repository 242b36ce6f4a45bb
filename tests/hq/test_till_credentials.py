"""Till credentials from HQ's shell: `kiosk-hq till add` prints a token once (HQ keeps its SHA-256),
`till disable` makes HQ refuse it, and the id can then get a new token."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml
from fastapi.security import HTTPAuthorizationCredentials

from hq.api.auth import till_guard
from hq.api.errors import Unauthorized
from hq.cli import main
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from sync.keys import generate_keypair


@pytest.fixture
def hq_yaml(tmp_path):
    generate_keypair(tmp_path / "hq.pem", tmp_path / "hq.pub")
    path = tmp_path / "hq.yaml"
    path.write_text(yaml.safe_dump({"database": sqlite_url(tmp_path / "hq.sqlite"), "signing_key": "hq.pem"}))
    return path


def add(hq_yaml, capsys, till="T1", store="S1") -> tuple[int, str, str]:
    status = main(["--config", str(hq_yaml), "till", "add", "--till", till, "--store", store])
    printed = capsys.readouterr()
    return status, printed.out.strip(), printed.err


def caller(hq_yaml, token):
    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    try:
        return till_guard(engine, "operator")(HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))
    finally:
        engine.dispose()


def test_till_add_prints_a_token_that_acts_as_that_till_and_hq_keeps_only_its_hash(hq_yaml, capsys):
    status, token, _ = add(hq_yaml, capsys)
    assert status == 0 and token.startswith("till_")
    who = caller(hq_yaml, token)
    assert (who.role, who.till_id, who.store_id) == ("till", "T1", "S1")
    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.tills.c.token_sha256)).scalar_one()
    engine.dispose()
    assert token not in stored and len(stored) == 64


def test_a_second_add_for_an_enabled_till_is_refused(hq_yaml, capsys):
    add(hq_yaml, capsys)
    status, _, err = add(hq_yaml, capsys)
    assert status == 1 and "disable it first" in err


def test_a_disabled_tills_token_is_refused_and_the_id_can_get_a_new_one(hq_yaml, capsys):
    _, old, _ = add(hq_yaml, capsys)
    assert main(["--config", str(hq_yaml), "till", "disable", "--till", "T1"]) == 0
    assert "refused from now on" in capsys.readouterr().out
    with pytest.raises(Unauthorized):
        caller(hq_yaml, old)
    status, new, _ = add(hq_yaml, capsys, store="S2")
    assert status == 0 and new != old
    assert caller(hq_yaml, new).store_id == "S2"
    with pytest.raises(Unauthorized):
        caller(hq_yaml, old)


def test_disabling_an_unknown_till_fails_with_its_name(hq_yaml, capsys):
    assert main(["--config", str(hq_yaml), "till", "disable", "--till", "T9"]) == 1
    assert "T9" in capsys.readouterr().err


def test_production_can_turn_the_cdn_loading_api_pages_off_on_the_tills_origin(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fastapi.testclient import TestClient

    from hq.api.app import create_app
    from hq.runtime import ZoneClock
    from hq.store.migrations import migrate
    from sync.topics import HqTopics

    engine = open_engine(sqlite_url(tmp_path / "hq.sqlite"))
    migrate(engine)
    app = create_app(engine, clock=ZoneClock(), signing_key=Ed25519PrivateKey.generate(), topics=HqTopics("k/v1"),
                     operator_token="op", api_docs=False)  # fmt: skip
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200 and client.get("/till").status_code == 200
    engine.dispose()
