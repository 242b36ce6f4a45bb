"""`python -m bench.till [--quick]`: voucher write-off (核销) under double attempts, kills and a till
cut off from HQ, against real HQ processes, a real Mosquitto and real kiosks.

Issue #20's benchmark. Per backend (SQLite, then PostgreSQL with two HQ processes):
1. Kiosks (each a real `Ledger` + `HqLink`, bench.hq_kiosks) redeem points for vouchers; one kiosk
   is cut from HQ first, so its vouchers are unknown to HQ while tills use them (accepted under
   the unregistered cap, reconciled when the kiosk comes back).
2. Tills consume every voucher through HQ's HTTP API with their own tokens, concurrently, while HQ
   processes are SIGKILLed at random moments (a till retries with the same request id, as it
   must). Deliberate double attempts: the same voucher at two tills at the same moment (a barrier),
   retries with the same request id, and forged codes (one character edited, signed by a key HQ
   does not know, signed by a key HQ revoked).
3. Till agents (tillagent): one is cut off from HQ (its URL points at a closed port) and accepts
   vouchers offline under its caps, some of which another till consumes online meanwhile; back
   online it replays its journal, and an old copy of the journal is replayed once more.
4. Drain: the offline kiosk reconnects; every voucher reaches HQ's registry with its event.

Final line (JSON): `vouchers`, `consumed`, `double_consumed` (vouchers two different online
requests were told they wrote off: must be 0), `offline_double_use_total` (vouchers written off
both offline at the cut-off agent and elsewhere, known from what the tills were told),
`offline_double_use_detected` (of those, the ones the agent's replay and HQ's alarms caught: must
equal the total), `forged_accepted` (must be 0), `consume_ms_p95` (online consume calls answered
by a live HQ; target < 100 ms), then per-backend details.

Options: `--quick` (CI: small counts), `--backends sqlite,postgres`, `--seed N`, `--keep`.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import json
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench.hq import percentiles, wait_for
from bench.hq_kiosks import SimKiosk
from bench.hq_stack import PREFIX, HqFleet, enrol_members, seed_points, seed_programme
from bench.machine import describe
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from kiosk.ledger.vouchers import encode_voucher_code
from sync.keys import generate_keypair, load_public_key
from tests.sync.broker import Mosquitto, free_port
from tillagent.agent import TillAgent
from tillagent.config import TillSettings
from tillagent.errors import TillAgentError
from tillagent.hq_client import HqClient
from tillagent.journal import Journal

TZ = ZoneInfo("Asia/Shanghai")
TARGET_CONSUME_MS = 100


@dataclass(frozen=True)
class Plan:
    online_kiosks: int
    members_per_kiosk: int
    issue_s: float
    redeem_per_s: float
    tills_per_store: int
    double_share: float  # vouchers tried at two tills at the same moment
    retry_share: float  # vouchers whose consume is sent twice with the same request id
    offline_accepts: int  # vouchers the cut-off agent accepts offline
    offline_doubles: int  # of those, how many another till also consumes online meanwhile
    agent_online: int  # vouchers a connected agent writes off (offline when a kill catches it)
    forged_each: int  # per kind: edited, unknown key, revoked key
    kill_every_s: tuple[float, float]
    down_s: tuple[float, float]
    # A cashier's pace between two write-offs at one till (tills are concurrent, not a load test:
    # HQ's capacity is bench.hq's figure; here the latency of a write-off as a cashier sees it).
    think_s: tuple[float, float]


FULL = Plan(
    online_kiosks=3, members_per_kiosk=30, issue_s=20, redeem_per_s=10, tills_per_store=3, double_share=0.15,
    retry_share=0.15, offline_accepts=40, offline_doubles=15, agent_online=40, forged_each=30,
    kill_every_s=(2, 5), down_s=(0.2, 1.0), think_s=(0.05, 0.4),
)  # fmt: skip
QUICK = Plan(
    online_kiosks=2, members_per_kiosk=8, issue_s=3, redeem_per_s=10, tills_per_store=2, double_share=0.2,
    retry_share=0.2, offline_accepts=8, offline_doubles=3, agent_online=8, forged_each=5,
    kill_every_s=(0.6, 1.2), down_s=(0.1, 0.4), think_s=(0.05, 0.25),
)  # fmt: skip


def log(message: str) -> None:
    print(f"[bench.till {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raw_public_key(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class Voucher:
    voucher_id: str
    code: str
    value_fen: int
    store_id: str
    offline: bool  # issued while its kiosk was cut from HQ


@dataclass
class Told:
    """What tills were told, the ground truth the audit compares HQ with."""

    accepted_online: dict[str, set[str]] = field(default_factory=dict)  # voucher -> request ids told "written off"
    accepted_offline: dict[str, str] = field(default_factory=dict)  # voucher -> request id (the cut-off agent)
    forged_accepted: int = 0
    consume_ms: list[float] = field(default_factory=list)
    retries: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def online(self, voucher_id: str, request_id: str) -> None:
        with self.lock:
            self.accepted_online.setdefault(voucher_id, set()).add(request_id)

    def refused(self, code: str) -> None:
        with self.lock:
            self.refusals[code] = self.refusals.get(code, 0) + 1


class ApiTill:
    """A till calling HQ's API with its own token; retries a failed call with the same request id."""

    def __init__(self, till_id: str, store_id: str, token: str, urls: Callable[[], list[str]], told: Told) -> None:
        self.till_id = till_id
        self.store_id = store_id
        self._urls = urls
        self._told = told
        self._http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=5.0)

    def consume(self, code: str, *, request_id: str | None = None, give_up_s: float = 60.0) -> tuple[int, dict]:
        request_id = request_id or uuid.uuid4().hex
        # The order number belongs to the request: a retry sends the same body.
        body = {"request_id": request_id, "till_id": self.till_id, "order_no": f"O-{request_id[:12]}", "code": code}
        deadline = time.monotonic() + give_up_s
        attempt = 0
        while True:
            url = random.choice(self._urls())
            started = time.perf_counter()
            try:
                answer = self._http.post(f"{url}/v1/vouchers/consume", json=body)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code < 500:
                if attempt == 0:  # a first attempt answered by a live HQ: the figure's sample
                    with self._told.lock:
                        self._told.consume_ms.append((time.perf_counter() - started) * 1000)
                return answer.status_code, answer.json() | {"request_id": request_id}
            attempt += 1
            with self._told.lock:
                self._told.retries += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.till_id}: HQ did not answer a consume within {give_up_s} s")
            time.sleep(0.05 * min(attempt, 10))

    def close(self) -> None:
        self._http.close()


class AgentTills:
    """Till agents (tillagent) of one store: a cut-off one whose HQ URL leads nowhere, and connected ones."""

    def __init__(self, folder: Path, fleet: HqFleet, operator: httpx.Client, store_id: str, hq_public_key: Path):
        folder.mkdir(parents=True)
        self._folder, self._fleet, self._store = folder, fleet, store_id
        self._hq_public_key = hq_public_key
        self._tokens: dict[str, str] = {}
        for name in ("A", "B"):
            till_id = f"agent-{store_id}-{name}"
            answer = operator.post(f"{fleet.urls[0]}/v1/tills", json={"till_id": till_id, "store_id": store_id})
            answer.raise_for_status()
            self._tokens[name] = answer.json()["token"]

    def _settings(self, name: str, url: str, journal: Path) -> TillSettings:
        return TillSettings(
            hq_url=url, till_id=f"agent-{self._store}-{name}", store_id=self._store,
            hq_public_key=self._hq_public_key, journal=journal, offline_daily_cap_fen=10**9,
            offline_max_value_fen=10_000, timeout_s=3.0,
        )  # fmt: skip

    def _agent(self, name: str, url: str, journal: Path) -> TillAgent:
        settings = self._settings(name, url, journal)
        return TillAgent(
            settings, hq=HqClient(url, self._tokens[name], timeout_s=settings.timeout_s),
            hq_keys=[load_public_key(self._hq_public_key)], journal=Journal(journal),
        )  # fmt: skip

    def journal(self, name: str) -> Path:
        return self._folder / f"{name}.sqlite"

    def cut_off(self) -> TillAgent:
        """Agent A, after fetching the key directory, with its HQ address leading nowhere."""
        online = self.connected("A")
        online.fetch_keys()
        online.close()
        return self._agent("A", f"http://127.0.0.1:{free_port()}", self.journal("A"))

    def connected(self, name: str, *, journal: Path | None = None) -> TillAgent:
        agent = self._agent(name, self._fleet.urls[0], journal or self.journal(name))
        self._retry(agent.fetch_keys)
        return agent

    def copy_journal(self) -> Path:
        """A copy of A's journal as it stands (its offline write-offs not yet replayed)."""
        copy = self._folder / "A-old-copy.sqlite"
        source = sqlite3.connect(self.journal("A"))
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return copy

    def settle(self, agent: TillAgent, give_up_s: float = 120.0) -> dict[str, int]:
        """Replay until nothing is pending (HQ may be down for a moment while it is killed)."""
        totals: dict[str, int] = {}
        deadline = time.monotonic() + give_up_s
        while True:
            report = agent.replay()
            for name in ("confirmed", "double_use_detected", "refused_at_replay", "reversed"):
                totals[name] = totals.get(name, 0) + int(getattr(report, name))
            if report.stopped is None and not report.still_pending and not report.still_in_doubt:
                return totals
            if time.monotonic() > deadline:
                raise RuntimeError(f"the agent's journal did not settle within {give_up_s} s: {report}")
            time.sleep(0.3)

    @staticmethod
    def _retry(action: Callable[[], Any], give_up_s: float = 60.0) -> None:
        deadline = time.monotonic() + give_up_s
        while True:
            try:
                action()
                return
            except TillAgentError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)


class BackendRun:
    def __init__(self, name: str, database: str, folder: Path, plan: Plan, rng: random.Random, hq_processes: int):
        self.name, self.database, self.folder, self.plan, self.rng = name, database, folder, plan, rng
        self.hq_processes = hq_processes
        self.told = Told()
        self.results: dict[str, Any] = {}
        self.operator_token = secrets.token_hex(16)

    def run(self) -> dict[str, Any]:
        folder, plan = self.folder, self.plan
        (folder / "broker").mkdir(parents=True)
        broker = Mosquitto(folder / "broker")
        broker.start()
        key = generate_keypair(folder / "hq.key", folder / "hq.pub")
        engine = open_engine(self.database)
        migrate(engine)
        seed_programme(engine, key, dt.datetime.now(TZ))
        fleet = HqFleet(folder, database=self.database, broker_port=broker.port, key_path=folder / "hq.key",
                        token=self.operator_token)  # fmt: skip
        kiosks = [
            SimKiosk(folder / "kiosks", f"K{i + 1:02d}", broker_port=broker.port, hq_public_key=key.public_key(),
                     prefix=PREFIX)
            for i in range(plan.online_kiosks + 1)
        ]  # fmt: skip
        started = time.monotonic()
        tills: list[ApiTill] = []
        try:
            fleet.scale(self.hq_processes)
            operator = httpx.Client(headers={"Authorization": f"Bearer {self.operator_token}"}, timeout=10)
            for kiosk in kiosks:
                kiosk.start()
                self._register_key(operator, fleet.urls[0], kiosk.device_id, kiosk.store_id,
                                   raw_public_key(kiosk.voucher_key))  # fmt: skip
            stores = sorted({k.store_id for k in kiosks})
            for store in stores:
                for n in range(plan.tills_per_store):
                    till_id = f"T-{store}-{n + 1}"
                    token = operator.post(f"{fleet.urls[0]}/v1/tills", json={"till_id": till_id, "store_id": store})
                    tills.append(ApiTill(till_id, store, token.json()["token"], lambda: fleet.urls, self.told))
            vouchers = self._issue(engine, kiosks)
            forged = self._forged(
                operator, fleet.urls[0], kiosks[0].store_id, kiosks[0].device_id, kiosks[0].voucher_key
            )
            home = kiosks[0].store_id
            held = [v for v in vouchers if v.store_id == home and not v.offline]
            held = held[: plan.offline_accepts + plan.agent_online]
            for_api = [v for v in vouchers if v not in held]
            agents = AgentTills(folder / "agents", fleet, operator, home, folder / "hq.pub")
            stop_killing = threading.Event()
            killer = threading.Thread(target=self._kill_loop, args=(fleet, stop_killing), name="hq-killer")
            killer.start()
            try:
                self._consume(tills, for_api, forged)
                self._agents(agents, [t_ for t_ in tills if t_.store_id == home], held)
            finally:
                stop_killing.set()
                killer.join()
                fleet.ensure_running()
            self._drain(engine, kiosks, vouchers)
            self.results.update(self._audit(engine, vouchers))
            operator.close()
        finally:
            for till in tills:
                till.close()
            for kiosk in kiosks:
                kiosk.stop()
            self.results["hq_exit_codes"] = fleet.stop()
            problems = fleet.log_problems()
            self.results["hq_log_problems"] = {"count": len(problems), "first": problems[:5]}
            self.results["hq_kills"] = fleet.kills
            broker.stop()
            engine.dispose()
        self.results["seconds"] = round(time.monotonic() - started, 1)
        return self.results

    # --- phases ---------------------------------------------------------------------------------

    @staticmethod
    def _register_key(operator: httpx.Client, url: str, device_id: str, store_id: str, public_key: str) -> None:
        answer = operator.post(
            f"{url}/v1/devices/{device_id}/voucher-keys",
            json={"store_id": store_id, "public_key": public_key, "valid_from": "2020-01-01T00:00:00+00:00"},
        )
        answer.raise_for_status()

    def _issue(self, engine: sa.Engine, kiosks: list[SimKiosk]) -> list[Voucher]:
        plan = self.plan
        wait_for(lambda: all(k.ledger.rules_version() == 1 for k in kiosks), 60, "the programme at every kiosk")
        now = dt.datetime.now(TZ)
        members = [f"M{i:05d}" for i in range(len(kiosks) * plan.members_per_kiosk)]
        enrol_members(engine, members, now)
        seeded = seed_points(engine, members, now)
        expected: dict[str, int] = {}
        for _key, member, points in seeded:
            expected[member] = expected.get(member, 0) + points
        wait_for(
            lambda: all(k.points(m) == p for k in kiosks for m, p in expected.items()), 120, "members at every kiosk"
        )
        offline_kiosk = kiosks[-1]
        offline_kiosk.go_offline()
        for i, kiosk in enumerate(kiosks):
            kiosk.start_redeeming(members[i :: len(kiosks)], members, plan.redeem_per_s)
        time.sleep(plan.issue_s)
        for kiosk in kiosks:
            kiosk.stop_redeeming()
        vouchers: list[Voucher] = []
        for kiosk in kiosks:
            conn = sqlite3.connect(f"file:{kiosk.ledger.path}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT voucher_id, code, value_fen, offline FROM vouchers").fetchall()
            finally:
                conn.close()
            vouchers += [Voucher(v, c, int(value), kiosk.store_id, bool(o)) for v, c, value, o in rows]
        log(f"{self.name}: {len(vouchers)} vouchers issued, {sum(v.offline for v in vouchers)} offline")
        return vouchers

    def _forged(
        self, operator: httpx.Client, url: str, store_id: str, kiosk_id: str, kiosk_key: Ed25519PrivateKey
    ) -> list[str]:
        """Codes no till may accept: edited, signed by an unknown key, signed by a revoked key."""
        plan = self.plan
        now = dt.datetime.now(dt.UTC)
        stolen, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        self._register_key(operator, url, "K99", store_id, raw_public_key(stolen))
        codes: list[str] = []

        def sign(key: Ed25519PrivateKey, device_id: str, serial: int, value_fen: int) -> str:
            return encode_voucher_code(
                key, device_id=device_id, serial=serial, issued_at=now - dt.timedelta(minutes=5),
                expires_at=now + dt.timedelta(days=30), value_fen=value_fen, reward_id="eggs",
            )  # fmt: skip

        for n in range(plan.forged_each):
            codes.append(sign(stolen, "K99", 10_000 + n, 500))  # revoked below
            codes.append(sign(stranger, "K01", 20_000 + n, 500))  # a key HQ never registered
            genuine = sign(kiosk_key, kiosk_id, 30_000 + n, 500)
            middle = len(genuine) // 2
            codes.append(genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1 :])
        operator.post(f"{url}/v1/devices/K99/voucher-keys/revoke", json={"reason": "bench: kiosk stolen"})
        return codes

    def _consume(self, tills: list[ApiTill], vouchers: list[Voucher], forged: list[str]) -> None:
        plan, rng = self.plan, self.rng
        by_store: dict[str, list[ApiTill]] = {}
        for till in tills:
            by_store.setdefault(till.store_id, []).append(till)
        jobs: list[Callable[[], None]] = []
        for voucher in vouchers:
            pair = rng.sample(by_store[voucher.store_id], 2)
            roll = rng.random()
            if roll < plan.double_share:
                jobs.append(functools.partial(self._double, voucher, pair))
            elif roll < plan.double_share + plan.retry_share:
                jobs.append(functools.partial(self._retry, voucher, pair[0]))
            else:
                jobs.append(functools.partial(self._once, voucher, pair[0]))
        for code in forged:
            jobs.append(functools.partial(self._forge_attempt, code, rng.choice(tills)))
        rng.shuffle(jobs)
        pauses = [rng.uniform(*plan.think_s) for _ in jobs]
        began = time.monotonic()

        def paced(job: Callable[[], None], pause: float) -> None:
            time.sleep(pause)
            job()

        with ThreadPoolExecutor(max_workers=len(tills)) as pool:
            for future in [pool.submit(paced, job, pause) for job, pause in zip(jobs, pauses, strict=True)]:
                future.result()
        self.results["consume_phase_s"] = round(time.monotonic() - began, 1)
        log(f"{self.name}: {len(jobs)} consume jobs in {self.results['consume_phase_s']} s")

    def _agents(self, agents: AgentTills, api_tills: list[ApiTill], held: list[Voucher]) -> None:
        """The cut-off agent accepts vouchers offline while a connected till uses some of them
        online; back online it replays, and an old copy of its journal is replayed once more."""
        plan, rng = self.plan, self.rng
        offline, online = held[: plan.offline_accepts], held[plan.offline_accepts :]
        cut_off = agents.cut_off()
        accepted: dict[str, str] = {}
        for voucher in offline:
            outcome = cut_off.consume(voucher.code, f"A-{voucher.voucher_id}")
            if outcome.ok and outcome.mode == "offline" and outcome.request_id:
                accepted[voucher.voucher_id] = outcome.request_id
            else:
                self.told.refused(f"agent_offline:{outcome.error}")
        cut_off.close()
        for voucher in rng.sample(offline, min(plan.offline_doubles, len(offline))):
            self._once(voucher, rng.choice(api_tills))  # the same voucher, online at another till
        connected = agents.connected("B")
        for voucher in online:
            outcome = connected.consume(voucher.code, f"B-{voucher.voucher_id}")
            if outcome.ok and outcome.mode == "online" and outcome.request_id:
                self.told.online(voucher.voucher_id, outcome.request_id)
            elif not outcome.ok:
                self.told.refused(f"agent_online:{outcome.error}")
        agents.settle(connected)
        connected.close()
        old_copy = agents.copy_journal()
        back = agents.connected("A")
        first = agents.settle(back)
        back.close()
        again = agents.settle(agents.connected("A", journal=old_copy))
        both = {v for v in accepted if len(self.told.accepted_online.get(v, ())) > 0}
        self.results["offline"] = {
            "accepted_offline": len(accepted),
            "replay": first,
            "old_journal_replay": again,
        }
        self.results["offline_double_use_total"] = len(both)
        self.results["offline_double_use_detected"] = first["double_use_detected"]
        # A confirmed offline write-off is a write-off like any other in the double_consumed audit.
        for voucher_id, request_id in accepted.items():
            if voucher_id not in both:
                self.told.online(voucher_id, request_id)
        log(f"{self.name}: agents: {len(accepted)} accepted offline, {len(both)} also used online; replay {first}")

    def _kill_loop(self, fleet: HqFleet, stop: threading.Event) -> None:
        """SIGKILL HQ processes at random moments; each comes back (and answers) before the next."""
        rng = random.Random(self.rng.random())
        while not stop.wait(rng.uniform(*self.plan.kill_every_s)):
            victims = fleet.kill_some(rng)
            time.sleep(rng.uniform(*self.plan.down_s))
            for victim in victims:
                victim.start()
            fleet.ensure_running()

    def _record(self, voucher: Voucher, status: int, body: dict) -> None:
        if status in (200, 201):
            self.told.online(voucher.voucher_id, body["request_id"])
        else:
            self.told.refused(str(body.get("error")))

    def _once(self, voucher: Voucher, till: ApiTill) -> None:
        self._record(voucher, *till.consume(voucher.code))

    def _retry(self, voucher: Voucher, till: ApiTill) -> None:
        request_id = uuid.uuid4().hex
        for _ in range(2):
            self._record(voucher, *till.consume(voucher.code, request_id=request_id))

    def _double(self, voucher: Voucher, pair: list[ApiTill]) -> None:
        barrier = threading.Barrier(2)

        def attempt(till: ApiTill) -> None:
            barrier.wait()
            self._record(voucher, *till.consume(voucher.code))

        threads = [threading.Thread(target=attempt, args=(till,)) for till in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _forge_attempt(self, code: str, till: ApiTill) -> None:
        status, body = till.consume(code)
        if status in (200, 201):
            with self.told.lock:
                self.told.forged_accepted += 1
        else:
            self.told.refused(f"forged:{body.get('error')}")

    def _drain(self, engine: sa.Engine, kiosks: list[SimKiosk], vouchers: list[Voucher]) -> None:
        kiosks[-1].go_online()
        ids = {v.voucher_id for v in vouchers}

        def reconciled() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(t.vouchers.c.voucher_id).where(t.vouchers.c.event_id.is_not(None)))
                return ids <= {r.voucher_id for r in rows}

        wait_for(reconciled, 180, "every voucher's redemption event at HQ")

    def _audit(self, engine: sa.Engine, vouchers: list[Voucher]) -> dict[str, Any]:
        told = self.told
        with engine.connect() as conn:
            used = {
                r.voucher_id
                for r in conn.execute(sa.select(t.vouchers.c.voucher_id).where(t.vouchers.c.state == "used"))
            }
            double_use_rows = conn.execute(
                sa.select(sa.func.count()).where(t.voucher_history.c.action == "double_use")
            ).scalar()
        double_consumed = sum(1 for requests in told.accepted_online.values() if len(requests) > 1)
        lost = sum(1 for v in told.accepted_online if v not in used)
        return {
            "vouchers": len(vouchers),
            "vouchers_issued_offline": sum(v.offline for v in vouchers),
            "consumed": len(used),
            "double_consumed": double_consumed,
            "written_off_but_not_used_at_hq": lost,
            "forged_accepted": told.forged_accepted,
            "consume_ms_p95": percentiles(told.consume_ms)["p95"],
            "consume_samples": len(told.consume_ms),
            "retries": told.retries,
            "refusals": dict(sorted(told.refusals.items())),
            "hq_double_use_history": int(double_use_rows or 0),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.till", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default=None, help="sqlite,postgres (the default: both)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    backends = (args.backends or "sqlite,postgres").split(",")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-till-"))
    details: dict[str, Any] = {}
    try:
        for backend in backends:
            folder = work / backend
            folder.mkdir()
            if backend == "sqlite":
                details[backend] = BackendRun(backend, sqlite_url(folder / "hq.sqlite"), folder, plan, rng, 1).run()
            else:
                from tests.hq.postgres import Postgres

                server = Postgres(folder / "pg", fsync=True)
                server.start()
                try:
                    url = server.create_database("bench_till")
                    details[backend] = BackendRun(backend, url, folder, plan, rng, 2).run()
                finally:
                    server.stop()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    runs = list(details.values())
    figures = {
        "vouchers": sum(r["vouchers"] for r in runs),
        "consumed": sum(r["consumed"] for r in runs),
        "double_consumed": sum(r["double_consumed"] for r in runs),
        "offline_double_use_detected": sum(r.get("offline_double_use_detected", 0) for r in runs),
        "offline_double_use_total": sum(r.get("offline_double_use_total", 0) for r in runs),
        "forged_accepted": sum(r["forged_accepted"] for r in runs),
        "consume_ms_p95": max((r["consume_ms_p95"] or 0) for r in runs),
        "target_consume_ms_p95": TARGET_CONSUME_MS,
        "quick": args.quick,
        "machine": describe(),
        **details,
    }
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
