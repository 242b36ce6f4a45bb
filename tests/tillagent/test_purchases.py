"""The till simulator (`kiosk-till simulate-purchases`): purchases reported to the real HQ app as a
till does it, with its own token; every purchase earned once, however often its answer is lost."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hq.domain.examples import supermarket_program
from tests.tillagent.test_cli import till_yaml
from tests.tillagent.world import Hq, Proxy
from tillagent.config import TOKEN_ENV
from tillagent.hq_client import HqClient
from tillagent.purchases import PurchasePlan, PurchaseSimulator

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop(hq: Hq) -> Hq:
    assert hq.operator.post("/v1/programs", json=supermarket_program()).status_code == 201
    for member in ("M1", "M2"):
        assert hq.operator.post("/v1/members", json={"member_id": member, "name": "会员"}).status_code == 201
    return hq


def points_at_hq(hq: Hq, member: str) -> int:
    lots = hq.operator.get(f"/v1/members/{member}").json()["lots"]
    return sum(int(lot["points"]) for lot in lots)


def simulator(hq: Hq, url: str) -> PurchaseSimulator:
    client = HqClient(url, hq.till_token("T1"), timeout_s=2)
    return PurchaseSimulator(client, till_id="T1", store_id="S1", clock=lambda: dt.datetime.now(dt.UTC),
                             sleep=lambda _s: None)  # fmt: skip


def test_each_simulated_purchase_earns_points_once(shop: Hq):
    reported = list(simulator(shop, shop.url).run(PurchasePlan(members=["M1", "M2"], count=6, per_s=0)))
    assert all(r.ok and r.attempts == 1 for r in reported)
    for member in ("M1", "M2"):
        assert points_at_hq(shop, member) == sum(r.points or 0 for r in reported if r.member_id == member)


def test_a_purchase_whose_answer_was_lost_is_resent_with_its_key_and_earned_once(shop: Hq, proxy: Proxy):
    sim = simulator(shop, proxy.url)
    proxy.lose_answers = True
    lost = [False]

    def heal(_seconds: float) -> None:  # the simulator's pause between attempts: the cable comes back
        lost[0] = True
        proxy.lose_answers = False

    sim._sleep = heal  # noqa: SLF001 - the test's stand-in for time passing
    reported = sim.report("T1-x-1", "M1", 12_345, order_no="x-1")
    assert lost[0] and reported.attempts == 2 and reported.status == 200  # HQ's replay of the first
    assert points_at_hq(shop, "M1") == reported.points == 123


def test_the_cli_reports_purchases_and_prints_hqs_answers(shop: Hq):
    config = till_yaml(shop)
    done = subprocess.run(
        [sys.executable, "-m", "tillagent", "--config", str(config), "--json", "simulate-purchases",
         "--members", "M1", "--count", "3", "--per-s", "0", "--run-id", "cli"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, TOKEN_ENV: shop.till_token("T1")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["idempotency_key"] for a in answers] == ["T1-cli-1", "T1-cli-2", "T1-cli-3"]
    assert points_at_hq(shop, "M1") == sum(a["points"] for a in answers)


def test_an_unknown_member_is_reported_as_refused_and_the_exit_status_says_so(shop: Hq):
    config = till_yaml(shop)
    done = subprocess.run(
        [sys.executable, "-m", "tillagent", "--config", str(config), "simulate-purchases", "--members", "NOBODY",
         "--count", "1", "--per-s", "0", "--run-id", "x"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, TOKEN_ENV: shop.till_token("T1")},
    )  # fmt: skip
    assert done.returncode == 1 and "REFUSED" in done.stdout
