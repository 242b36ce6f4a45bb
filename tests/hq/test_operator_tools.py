"""What an operator does from HQ's shell and config: till credentials (`kiosk-hq till add` prints a
token once and HQ keeps its SHA-256; `till disable` makes HQ refuse it, and the id can then get a new
one), the service desk's PIN tasks (`kiosk-hq member set-pin|unlock-pin`, the PIN on stdin), and
turning the CDN-loading API pages off in production."""

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


def enrol_one(hq_yaml) -> None:
    """M1 at HQ, under the supermarket programme (enrolment needs one)."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hq.domain.examples import supermarket_program
    from hq.service.members import NewMember, enrol
    from hq.service.programs import add_program
    from hq.store.migrations import migrate
    from sync.topics import HqTopics

    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=Ed25519PrivateKey.generate(), topics=HqTopics("k/v1"),
                    now=now, by="test")  # fmt: skip
        enrol(conn, NewMember("M1", "王小明"), now)
    engine.dispose()


def test_the_service_desk_sets_a_pin_from_stdin_and_lifts_a_lock_from_hqs_shell(hq_yaml, capsys, monkeypatch):
    import datetime as dt
    import io

    from hq.service import pins
    from kiosk.ledger.pin_kdf import verify_pin

    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    enrol_one(hq_yaml)
    monkeypatch.setattr("sys.stdin", io.StringIO("2580\n"))
    assert main(["--config", str(hq_yaml), "member", "set-pin", "M1", "--by", "desk-anna"]) == 0
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.member_pins.c.pin_hash).where(t.member_pins.c.member_id == "M1")).scalar()
    assert "2580" not in stored and verify_pin("2580", stored) and not verify_pin("1234", stored)
    assert main(["--config", str(hq_yaml), "member", "unlock-pin", "M1", "--by", "desk-anna"]) == 0
    assert "was not locked" in capsys.readouterr().out
    with engine.begin() as conn:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        pins.lock_from_kiosk(conn, "M1", device_id="K1", event_id="e-1", made_at=later, now=later)
    assert main(["--config", str(hq_yaml), "member", "unlock-pin", "M1", "--by", "desk-anna"]) == 0
    assert "lifted" in capsys.readouterr().out
    engine.dispose()


def test_a_pin_that_is_not_4_to_6_digits_is_refused_from_the_shell(hq_yaml, capsys, monkeypatch):
    import io

    enrol_one(hq_yaml)
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["--config", str(hq_yaml), "member", "set-pin", "M1", "--by", "desk-anna"]) == 1
    assert "4 to 6 digits" in capsys.readouterr().err
