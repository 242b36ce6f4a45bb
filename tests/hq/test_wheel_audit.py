"""The prize wheel's audit (hq.service.wheel), on SQLite and PostgreSQL, through the real event path
(real kiosk ledgers spin with uniform draws from random.Random(seed); HQ's listener store applies
their events): a fair fleet passes the chi-square test, every draw recomputes to its prize and no
kiosk exceeds its stock; a kiosk whose prize does not follow its draw is listed, a kiosk that
re-draws until it likes the outcome fails the chi-square test, a prize beyond its stock is
listed. The audit is the same from `kiosk-hq wheel audit` and `GET /v1/wheel/audit`."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from hq.api.app import create_app
from hq.cli import main
from hq.domain.examples import supermarket_program
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.wheel import audit
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.wheel import DRAW_BOUND
from sync.keys import generate_keypair
from sync.schemas import EventMessage
from sync.topics import HqTopics
from tests.hq.wheel_events import NOW, OFF_20, PTS_10, THANKS, TZ, WEIGHTS, record, spin_event

pytestmark = pytest.mark.integration
KEY = Ed25519PrivateKey.generate()
KIOSKS = ("K01", "K02", "K03", "K04")
MEMBERS_PER_KIOSK = 48
SPINS_PER_MEMBER = 11  # the day's free spin and the 10 paid ones the rules allow
SEED = 20261203


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0


def members_of(device: str) -> list[str]:
    return [f"{device}-M{i:02d}" for i in range(MEMBERS_PER_KIOSK)]


@pytest.fixture(scope="module")
def fair_spins(tmp_path_factory) -> list[EventMessage]:
    """2,112 spins at four real kiosks (48 members each, 11 spins a member), uniform draws.

    Stock runs out as it would in a store (eggs 30 and off-20 5 a kiosk), so the weights the
    later spins were drawn over leave those prizes out: the audit's expectation follows them."""
    rng = random.Random(SEED)
    folder = tmp_path_factory.mktemp("kiosks")
    events: list[EventMessage] = []
    for device in KIOSKS:
        kiosk = Ledger.open(
            folder / f"{device}.db", device_id=device, clock=FixedClock(), tz=TZ,
            voucher_key=Ed25519PrivateKey.generate(),
            offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
        )  # fmt: skip
        kiosk.apply_rules(1, supermarket_program()["kiosk"])
        lot = {"points": 1000, "earned_at": (NOW - dt.timedelta(days=1)).isoformat(),
               "expires_at": (NOW + dt.timedelta(days=300)).isoformat()}  # fmt: skip
        snapshot = [
            {"member_id": m, "name": "会员", "spend_fen": 0, "lots": [lot | {"lot_id": f"L-{m}"}], "cards": []}
            for m in members_of(device)
        ]
        kiosk.apply_member_snapshot(1, snapshot, full=True)
        for member_id in members_of(device):
            for n in range(SPINS_PER_MEMBER):
                kiosk.spin_wheel(f"{member_id}-{n}", member_id, online=True, draw=rng.randrange(DRAW_BOUND))
        events += [
            EventMessage(device, e.seq, e.event_id, e.type, e.created_at, False, False, e.payload)
            for e in kiosk.outbox_pending(10_000)
        ]
        kiosk.close()
    return events


def load(engine: Engine) -> Engine:
    """The supermarket programme (version 1) and every kiosk's members, with points to spend."""
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=HqTopics("k"), now=NOW - dt.timedelta(days=9), by="t")
        for member_id in [m for device in KIOSKS for m in members_of(device)] + ["M1"]:
            enrol(conn, NewMember(member_id, "会员"), NOW - dt.timedelta(days=9))
        conn.execute(
            t.lots.insert(),
            [
                {"lot_id": f"L-{m}", "member_id": m, "points_earned": 1000, "points_left": 1000,
                 "earned_at": NOW - dt.timedelta(days=1), "expires_at": NOW + dt.timedelta(days=300), "source": "t"}
                for m in [m for device in KIOSKS for m in members_of(device)] + ["M1"]
            ],
        )  # fmt: skip
    return engine


@pytest.fixture
def hq(engine: Engine) -> Engine:
    return load(engine)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fair_hq(request, tmp_path_factory, fair_spins) -> Iterator[Engine]:
    """HQ after the fair fleet's spins, once per backend for the tests that only read it (applying
    2,000 spins is the slow part)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("fair-hq") / "hq.sqlite")
    else:
        url = request.getfixturevalue("postgres").create_database("hq_wheel_fair")
    engine = open_engine(url)
    migrate(engine)
    record_all(load(engine), fair_spins)
    yield engine
    engine.dispose()


def record_all(engine: Engine, events: list[EventMessage], batch: int = 250) -> None:
    for start in range(0, len(events), batch):
        record(engine, *events[start : start + batch])


def run_audit(engine: Engine, **kwargs):
    with engine.connect() as conn:
        return audit(conn, **kwargs)


def stingy_spins(count: int, seed: int) -> list[EventMessage]:
    """A forged kiosk that re-draws until it likes the outcome: each recorded draw does pick the
    recorded prize (so no single spin looks wrong), but prizes come out with weights 70/25/4/1
    instead of the rules' 55/30/12/3. Spread over 40 kiosk ids, so no one of them exceeds stock,
    and over the members, so none runs out of points."""
    members = [m for device in KIOSKS for m in members_of(device)]
    rng = random.Random(seed)
    total = sum(w for _, w in WEIGHTS)
    starts = [sum(w for _, w in WEIGHTS[:i]) for i in range(len(WEIGHTS))]
    events = []
    for n in range(count):
        index = rng.choices(range(len(WEIGHTS)), weights=(70, 25, 4, 1))[0]
        draw = total * rng.randrange(2**50) + starts[index] + rng.randrange(WEIGHTS[index][1])
        events.append(spin_event(device=f"KS{n % 40:02d}", member=members[n % len(members)], free=False, draw=draw))
    return events


# --- a fair fleet --------------------------------------------------------------------------------


def test_a_fair_fleets_spins_pass_the_chi_square_test(fair_hq, fair_spins):
    report = run_audit(fair_hq)
    (fit,) = report.versions
    assert report.spins == fit.spins == len(fair_spins) >= 2000
    assert fit.p_value is not None and fit.p_value > 0.001 and fit.fair
    assert fit.dof == 3


def test_every_fair_spins_prize_recomputes_from_its_draw_and_no_kiosk_exceeds_its_stock(fair_hq):
    report = run_audit(fair_hq)
    assert (report.mismatch_count, report.stock_excess, report.ok) == (0, (), True)
    given = {p.prize_id: p.observed for p in report.versions[0].prizes}
    assert given["off-20"] <= 5 * len(KIOSKS) and given["eggs"] <= 30 * len(KIOSKS)


# --- what the audit catches ----------------------------------------------------------------------


def test_a_kiosk_whose_prize_does_not_follow_its_draw_is_listed(hq):
    fair = [spin_event(device="K01", member="M1", free=False, draw=d) for d in (THANKS, PTS_10, THANKS)]
    forged = spin_event(device="K66", member="M1", free=False, draw=THANKS, prize="off-20")
    record(hq, *fair, forged)
    report = run_audit(hq)
    assert report.mismatch_count == 1 and not report.ok
    (listed,) = report.mismatches
    assert (listed.event_id, listed.device_id, listed.prize_id, listed.drawn) == (forged.event_id, "K66",
                                                                                   "off-20", "thanks")  # fmt: skip


def test_a_kiosk_that_redraws_until_it_likes_the_outcome_fails_the_chi_square_test(hq):
    record_all(hq, stingy_spins(600, seed=SEED))
    report = run_audit(hq)
    (fit,) = report.versions
    assert report.mismatch_count == 0  # every draw does pick its prize: only the distribution shows it
    assert fit.p_value is not None and fit.p_value < 0.001 and not fit.fair and not report.ok


def test_a_prize_given_beyond_a_kiosks_stock_is_listed(hq):
    record(hq, *[spin_event(device="K07", member="M1", free=False, draw=OFF_20 + 100 * n) for n in range(6)])
    report = run_audit(hq)
    assert [(s.device_id, s.rules_version, s.prize_id, s.given, s.stock) for s in report.stock_excess] == [
        ("K07", 1, "off-20", 6, 5)
    ]


def test_since_leaves_earlier_spins_out_of_the_draw_checks(hq):
    early = spin_event(
        device="K66", member="M1", free=False, draw=THANKS, prize="off-20", at=NOW - dt.timedelta(days=2)
    )
    record(hq, early, spin_event(device="K01", member="M1", free=False, draw=PTS_10))
    report = run_audit(hq, since=NOW - dt.timedelta(days=1))
    assert (report.spins, report.mismatch_count) == (1, 0)


# --- the command and the route -------------------------------------------------------------------


@pytest.fixture
def hq_yaml(tmp_path: Path) -> Path:
    """An HQ config over a SQLite database holding one forged spin (its prize not its draw's)."""
    generate_keypair(tmp_path / "hq.pem", tmp_path / "hq.pub")
    url = sqlite_url(tmp_path / "hq.sqlite")
    path = tmp_path / "hq.yaml"
    path.write_text(yaml.safe_dump({"database": url, "signing_key": "hq.pem", "timezone": "Asia/Shanghai"}))
    return path


def forged_database(hq_yaml: Path) -> Engine:
    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    migrate(engine)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=HqTopics("k"), now=NOW - dt.timedelta(days=9), by="t")
        enrol(conn, NewMember("M1", "会员"), NOW - dt.timedelta(days=9))
    record(engine, spin_event(device="K66", member="M1", draw=THANKS, prize="pts-10"))
    return engine


def test_kiosk_hq_wheel_audit_prints_the_findings_as_json_and_fails(hq_yaml, capsys):
    forged_database(hq_yaml).dispose()
    status = main(["--config", str(hq_yaml), "wheel", "audit", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    assert (report["ok"], report["spins"], report["mismatch_count"]) == (False, 1, 1)
    assert report["mismatches"][0]["drawn"] == "thanks"


def test_kiosk_hq_wheel_audit_since_a_store_day_after_the_spins_passes(hq_yaml, capsys):
    forged_database(hq_yaml).dispose()
    status = main(["--config", str(hq_yaml), "wheel", "audit", "--since", "2026-12-04"])
    printed = capsys.readouterr().out
    assert status == 0 and "wheel audit: 0 spin(s) since 2026-12-04T00:00:00+08:00" in printed
    assert printed.rstrip().endswith("result: passed")


def test_kiosk_hq_wheel_audit_refuses_a_since_without_an_offset(hq_yaml, capsys):
    assert main(["--config", str(hq_yaml), "wheel", "audit", "--since", "2026-12-04T08:00:00"]) == 2
    assert "has no UTC offset" in capsys.readouterr().err


def test_the_operator_route_serves_the_same_audit(hq_yaml):
    engine = forged_database(hq_yaml)
    app = create_app(engine, clock=FixedClock(), signing_key=KEY, topics=HqTopics("k"), operator_token="op")
    with TestClient(app) as client:
        refused = client.get("/v1/wheel/audit")
        found = client.get("/v1/wheel/audit", headers={"Authorization": "Bearer op"})
    engine.dispose()
    assert refused.status_code == 401
    assert found.status_code == 200
    body = found.json()
    assert (body["ok"], body["mismatch_count"], body["versions"][0]["rules_version"]) == (False, 1, 1)


def test_the_audit_counts_free_spins_beyond_the_days_allowance(hq):
    record(hq, spin_event(device="K01", member="M1"), spin_event(device="K02", member="M1", offline=True))
    (fit,) = run_audit(hq).versions
    assert fit.duplicate_free == 1


def test_the_audit_reads_the_weights_it_stored(hq):
    record(hq, spin_event(device="K01", member="M1", draw=THANKS))
    with hq.connect() as conn:
        stored = conn.execute(sa.select(t.wheel_spins.c.weights)).scalar_one()
    assert stored == [list(pair) for pair in WEIGHTS]
