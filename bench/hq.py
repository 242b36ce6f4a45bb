"""`python -m bench.hq [--quick]`: HQ under tills, kiosks and kill -9, on SQLite and PostgreSQL.

Issue #19's benchmark. Tills report purchases through HQ's HTTP API while kiosks tap and redeem,
over a real Mosquitto, against SQLite (synchronous=FULL) and then against PostgreSQL (fsync on),
in one run; at the end HQ is killed and restarted at random moments. Everything is real and runs
on this machine: `python -m hq serve` processes (bench.hq_stack), a Mosquitto per backend, a
PostgreSQL cluster of its own, kiosks that are each a real `Ledger` and `HqLink`
(bench.hq_kiosks), tills in a process of their own (bench.hq_tills).

Per backend, in order:
1. Set-up: the supermarket programme (eggs without a stock cap), kiosks connected, then members
   enrolled (M00000...) and probe members (P000...) only the latency probe buys for; the members
   kiosks redeem for get two big purchases first. Kiosks tap and redeem "eggs" (800 points) from
   here to the end of the chaos phase, each kiosk for its own members (two kiosks spending the same
   points before HQ has heard of either is the overdraft case, a different story).
2. Throughput: rounds of tills (4, 8 and 12 per HQ process in the full run) that each report one
   purchase after another for random members, as tills do; purchases/s over the steady state
   (after a warm-up), the best round being the figure. On PostgreSQL, if one HQ process stays
   under 500/s, the same rounds again with two HQ processes (own MQTT ids and HTTP ports); both
   figures are reported. CPU per purchase of every part (HQ, PostgreSQL, Mosquitto, tills, the
   simulated kiosks) comes from /proc, with the machine's busy time (anything else running shows
   as `other_processes_cores`), and the use case alone is profiled in-process
   (bench.hq_profile), so a shortfall says where the time goes.
3. Latency: tills at half the measured capacity; meanwhile a probe reports 5 purchases/s for the
   probe members and times each from its POST to the moment each kiosk's ledger shows the new
   points (`ledger.member_view(member).points`, read as soon as the member update is applied).
   The same probe also runs during the throughput phase (`..._saturated`).
4. Chaos: tills as fast as answered, retrying the same request on any failure (the next HQ
   process, as a load balancer would), kiosks redeeming online or offline as their link says,
   and HQ processes SIGKILLed at random moments (sometimes all at once) and started again.
5. Drain and audit: every kiosk outbox empty, every member change published and applied at
   every kiosk; then (bench.hq_audit):

   - lost = purchases acknowledged to a till (2xx; plus the seed and profile purchases, committed
     through the service) that HQ has no purchase row or no `earn` entry for, plus vouchers in any
     kiosk's ledger that HQ has no `redemption` entry for.
   - duplicated = `earn` entries or lots beyond the first for one purchase, plus `redemption`
     entries beyond the first for one voucher, plus stored kiosk events beyond the first for one
     event id.
   - points_mismatch = members whose points differ between any of: (a) HQ's event log,
     sum(points_delta - overdraft_delta) over their entries; (b) HQ's tables, sum of their lots'
     points_left minus members.overdraft_points; (c) each kiosk's replica, member_view().points;
     (d) the tally of what tills and kiosks were told: points in the 2xx answers minus 800 per
     voucher in the kiosks' ledgers.

Final line: one JSON object with purchases_per_s_sqlite, purchases_per_s_postgres,
purchase_to_kiosk_ms_p95 (the worse of the two backends, latency phase), lost, duplicated,
points_mismatch (summed over both backends), then context: cores, counts, HQ processes,
durations, and the per-backend details under "sqlite" and "postgres".
Targets (#19): lost = duplicated = points_mismatch = 0; p95 under 2 s; 500 purchases/s on
PostgreSQL on the 2-core development machine.

Options: `--quick` (CI: a few seconds a phase, 300 members, 2 kiosks), `--seed N` (members,
amounts, kill moments), `--backends sqlite|postgres`, `--tills-per-hq 4,8`, `--keep` (keep the
working directory: hq.yaml files, HQ logs, databases, every till's outcomes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.hq_audit import Told, audit
from bench.hq_kiosks import Prober, SimKiosk
from bench.hq_profile import profile_purchases
from bench.hq_stack import (
    PREFIX,
    REPO,
    HqFleet,
    enrol_members,
    machine_busy_seconds,
    postmaster_pid,
    seed_points,
    seed_programme,
    tree_cpu_seconds,
)
from bench.machine import describe
from hq.store import tables as t
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from sync.keys import generate_keypair
from tests.sync.broker import Mosquitto

TZ = ZoneInfo("Asia/Shanghai")
TARGET_PER_S = 500
TARGET_P95_MS = 2000


@dataclass(frozen=True)
class Plan:
    members: int
    probe_members: int
    kiosks: int
    redeemers_per_kiosk: int
    tills_per_hq: tuple[int, ...]  # throughput rounds: tills per HQ process
    warmup_s: float
    throughput_s: float
    latency_s: float
    chaos_s: float
    kill_every_s: tuple[float, float]
    down_s: tuple[float, float]
    probe_per_s: float
    redeem_per_s: float  # shoppers per kiosk (a redemption each, when the points allow)
    profile_purchases: int
    max_hq_processes: int


FULL = Plan(
    members=2000, probe_members=20, kiosks=3, redeemers_per_kiosk=60, tills_per_hq=(4, 8, 12), warmup_s=5,
    throughput_s=25, latency_s=30, chaos_s=120, kill_every_s=(3, 8), down_s=(0.2, 1.5), probe_per_s=5,
    redeem_per_s=2, profile_purchases=300, max_hq_processes=2,
)  # fmt: skip
QUICK = Plan(
    members=300, probe_members=5, kiosks=2, redeemers_per_kiosk=10, tills_per_hq=(4,), warmup_s=0.5, throughput_s=2.5,
    latency_s=2, chaos_s=6, kill_every_s=(1.2, 2.2), down_s=(0.1, 0.5), probe_per_s=5, redeem_per_s=5,
    profile_purchases=30, max_hq_processes=2,
)  # fmt: skip


def log(message: str) -> None:
    print(f"[bench.hq {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"samples": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)  # noqa: E731
    return {"samples": len(ordered), "p50": pick(0.5), "p95": pick(0.95), "max": round(ordered[-1], 1)}


def pid_of(fragment: str) -> int | None:
    """The process whose command line contains `fragment` (Mosquitto, by its config file)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if fragment.encode() in cmdline.read():
                        return int(entry)
            except OSError:
                continue
    return None


class TillRun:
    """One `python -m bench.hq_tills` process; `finish()` returns its summary and outcomes."""

    def __init__(self, folder: Path, **job: Any) -> None:
        self.job = {"warmup_s": 0.0, "rate_per_s": None, "timeout_s": 10.0, "give_up_s": 120.0, **job}
        self.job["out"] = str(folder / f"tills-{job['key_prefix']}.jsonl")
        path = folder / f"tills-{job['key_prefix']}.json"
        path.write_text(json.dumps(self.job), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.hq_tills", str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )

    def finish(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        out, _ = self.proc.communicate(timeout=self.job["duration_s"] + self.job["give_up_s"] + 60)
        if self.proc.returncode != 0:
            raise RuntimeError(f"bench.hq_tills exited {self.proc.returncode}")
        summary = json.loads(out.strip().splitlines()[-1])
        with open(self.job["out"], encoding="utf-8") as lines:
            outcomes = [json.loads(line) for line in lines]
        return summary, outcomes


class BackendRun:
    """Set-up, throughput, latency, chaos, drain and audit against one database."""

    def __init__(self, name: str, database: str, folder: Path, plan: Plan, rng: random.Random, pg_data: Path | None):
        self.name = name
        self.database = database
        self.folder = folder
        self.plan = plan
        self.rng = rng
        self.pg_data = pg_data
        self.told = Told()
        self.results: dict[str, Any] = {}
        self.regular = [f"M{i:05d}" for i in range(plan.members)]
        self.probes = [f"P{i:03d}" for i in range(plan.probe_members)]
        self.fleet: HqFleet | None = None
        self.broker_config = ""
        self.tills = 0  # latency and chaos: the tills of the best round with every HQ process

    def run(self) -> dict[str, Any]:
        folder, plan = self.folder, self.plan
        (folder / "broker").mkdir(parents=True)
        broker = Mosquitto(folder / "broker")
        broker.start()
        self.broker_config = str(broker.config)
        key = generate_keypair(folder / "hq.key", folder / "hq.pub")
        engine = open_engine(self.database)
        migrate(engine)
        seed_programme(engine, key, dt.datetime.now(TZ))
        fleet = HqFleet(folder, database=self.database, broker_port=broker.port, key_path=folder / "hq.key",
                        token=secrets.token_hex(16))  # fmt: skip
        kiosks = [
            SimKiosk(folder / "kiosks", f"K{i + 1:02d}", broker_port=broker.port, hq_public_key=key.public_key(),
                     prefix=PREFIX)
            for i in range(plan.kiosks)
        ]  # fmt: skip
        self.fleet = fleet
        started = time.monotonic()
        try:
            fleet.scale(1)
            for kiosk in kiosks:
                kiosk.start()
            self._set_up(engine, kiosks)
            prober = Prober(fleet.urls[0], fleet.token, self.probes, kiosks, key_prefix=f"{self.name}-probe")
            self._throughput(fleet, prober)
            self._profile(engine)
            self._latency(fleet, prober)
            self._chaos(fleet)
            self._drain(engine, kiosks)
            for key_ in prober.unanswered:
                self.told.unacknowledged.add(key_)
            for key_, member, points in prober.acknowledged:
                self.told.add(key_, member, points)
            self.results["audit"] = audit(engine, self.told, kiosks, self.regular + self.probes)
            self.results["kiosks"] = {
                "taps": sum(k.taps for k in kiosks),
                "redemptions": sum(len(k.redemptions) for k in kiosks),
                "refusals": _merged([k.refusals for k in kiosks]),
            }
        finally:
            stopping = time.monotonic()
            for kiosk in kiosks:
                kiosk.stop()
            self.results["hq_exit_codes"] = fleet.stop()
            self.results["hq_thread_deaths"] = fleet.thread_deaths()
            problems = fleet.log_problems()
            self.results["hq_log_problems"] = {"count": len(problems), "first": problems[:5]}
            broker.stop()
            engine.dispose()
            self.results["teardown_s"] = round(time.monotonic() - stopping, 1)
        self.results["seconds"] = round(time.monotonic() - started, 1)
        return self.results

    # --- phases ---------------------------------------------------------------------------------

    def _set_up(self, engine: Engine, kiosks: list[SimKiosk]) -> None:
        plan = self.plan
        # Member updates are not retained: enrol once the kiosks listen (their rules are retained,
        # so a kiosk holding them has subscribed).
        wait_for(lambda: all(k.ledger.rules_version() == 1 for k in kiosks), 60, "the programme at every kiosk")
        now = dt.datetime.now(TZ)
        enrol_members(engine, self.regular + self.probes, now)
        redeemers = self.regular[: plan.kiosks * plan.redeemers_per_kiosk]
        seeded = seed_points(engine, redeemers, now)
        expected: dict[str, int] = {}
        for key, member, points in seeded:
            self.told.add(key, member, points)
            expected[member] = expected.get(member, 0) + points
        everyone = len(self.regular) + len(self.probes)
        wait_for(
            lambda: (
                all(k.ledger.member_count() == everyone for k in kiosks)
                and all(k.points(m) == p for k in kiosks for m, p in expected.items())
            ),
            120,
            "every member at every kiosk",
        )
        for i, kiosk in enumerate(kiosks):
            kiosk.start_redeeming(redeemers[i :: len(kiosks)], self.regular, plan.redeem_per_s)
        log(f"{self.name}: {everyone} members at {len(kiosks)} kiosks; kiosks redeeming")

    def _cpu(self) -> dict[str, float]:
        own = os.times()
        assert self.fleet is not None
        cpu = {"hq": self.fleet.cpu_seconds(), "kiosks_and_probe": own.user + own.system}
        mosquitto = pid_of(self.broker_config)
        cpu["mosquitto"] = tree_cpu_seconds(mosquitto) if mosquitto else 0.0
        if self.pg_data is not None:
            cpu["postgres"] = tree_cpu_seconds(postmaster_pid(self.pg_data))
        cpu["machine"] = machine_busy_seconds()
        return cpu

    def _throughput(self, fleet: HqFleet, prober: Prober) -> None:
        """Rounds of closed-loop tills: 1 HQ process, then 2 (PostgreSQL, while under the target),
        each with every till count of the plan; the best round per process count is the figure."""
        plan = self.plan
        rounds: list[dict[str, Any]] = []
        saturated: list[float] = []
        for processes in range(1, plan.max_hq_processes + 1):
            if processes > 1 and (self.name == "sqlite" or max(r["per_s"] for r in rounds) >= TARGET_PER_S):
                break  # SQLite is the one-store HQ; a second process is for PostgreSQL
            fleet.scale(processes)
            for per_hq in plan.tills_per_hq:
                rounds.append(self._round(fleet, prober, processes, per_hq * processes))
                saturated += rounds[-1].pop("latencies")
                log(f"{self.name}: {processes} HQ process(es), {per_hq * processes} tills: {rounds[-1]['per_s']}/s")
        by_processes: dict[str, float] = {}
        for r in rounds:
            key = str(r["hq_processes"])
            by_processes[key] = max(by_processes.get(key, 0.0), r["per_s"])
        best = max(rounds, key=lambda r: r["per_s"])
        self.results["purchases_per_s"] = best["per_s"]
        self.results["purchases_per_s_by_hq_processes"] = by_processes
        self.results["hq_processes"] = len(fleet.processes)
        self.results["best_round"] = {"hq_processes": best["hq_processes"], "tills": best["tills"]}
        self.results["throughput"] = rounds
        self.results["purchase_to_kiosk_ms_saturated"] = percentiles(saturated)
        final = [r for r in rounds if r["hq_processes"] == len(fleet.processes)]
        self.tills = max(final, key=lambda r: r["per_s"])["tills"]

    def _round(self, fleet: HqFleet, prober: Prober, processes: int, tills: int) -> dict[str, Any]:
        plan = self.plan
        prober.start(plan.probe_per_s)
        before, wall, probed = self._cpu(), time.monotonic(), len(prober.acknowledged)
        run = TillRun(
            self.folder, urls=fleet.urls, token=fleet.token, tills=tills, duration_s=plan.throughput_s,
            warmup_s=plan.warmup_s, members=self.regular, seed=self.rng.random(),
            key_prefix=f"{self.name}-tp{processes}x{tills}", give_up_s=30.0,
        )  # fmt: skip
        summary, outcomes = run.finish()
        after, wall = self._cpu(), time.monotonic() - wall
        self._record(outcomes)
        missing = prober.stop()
        latencies = prober.take_latencies()
        purchases = summary["acknowledged"] + len(prober.acknowledged) - probed
        cpu = {part: (after[part] - before[part]) for part in after if part != "machine"}
        cpu["tills"] = summary["cpu_s"]
        ours = sum(cpu.values())
        return {
            "hq_processes": processes,
            "tills": tills,
            "per_s": summary["per_s_steady"],
            "per_s_all": summary["per_s_all"],
            "purchases": summary["acknowledged"],
            "http_ms_p50": summary["http_ms_p50"],
            "http_ms_p95": summary["http_ms_p95"],
            "cpu_ms_per_purchase": {p: round(s / max(1, purchases) * 1000, 2) for p, s in cpu.items()},
            "cpu_cores_busy": round(ours / wall, 2),
            # Busy cores machine-wide minus the bench's parts: anything else running meanwhile.
            "other_processes_cores": round(max(0.0, after["machine"] - before["machine"] - ours) / wall, 2),
            "purchase_to_kiosk_ms": percentiles(latencies),
            "probes_not_shown": missing,
            "latencies": latencies,
        }

    def _profile(self, engine: Engine) -> None:
        figures, done = profile_purchases(
            engine, self.regular[-50:], self.plan.profile_purchases, key_prefix=f"{self.name}-prof"
        )
        for key, member, points in done:
            self.told.add(key, member, points)
        self.results["profile"] = figures

    def _latency(self, fleet: HqFleet, prober: Prober) -> None:
        plan = self.plan
        rate = max(1.0, round(self.results["purchases_per_s"] / 2, 1))
        prober.start(plan.probe_per_s)
        tills = TillRun(
            self.folder, urls=fleet.urls, token=fleet.token, tills=self.tills, duration_s=plan.latency_s,
            rate_per_s=rate, members=self.regular, seed=self.rng.random(), key_prefix=f"{self.name}-lat",
            give_up_s=30.0,
        )  # fmt: skip
        summary, outcomes = tills.finish()
        self._record(outcomes)
        missing = prober.stop()
        self.results["latency"] = {
            "offered_per_s": rate,
            "per_s": summary["per_s_all"],
            "purchase_to_kiosk_ms": percentiles(prober.take_latencies()),
            "probes_not_shown": missing,
        }
        log(f"{self.name}: purchase -> kiosk {self.results['latency']['purchase_to_kiosk_ms']}")

    def _chaos(self, fleet: HqFleet) -> None:
        plan = self.plan
        tills = TillRun(
            self.folder, urls=fleet.urls, token=fleet.token, tills=self.tills, duration_s=plan.chaos_s,
            members=self.regular, seed=self.rng.random(), key_prefix=f"{self.name}-chaos", timeout_s=5.0,
        )  # fmt: skip
        ends = time.monotonic() + plan.chaos_s
        kills_before, timeline = fleet.kills, []
        began = time.monotonic()
        while True:
            pause = self.rng.uniform(*plan.kill_every_s)
            if time.monotonic() + pause >= ends:
                break
            time.sleep(pause)
            victims = fleet.kill_some(self.rng)
            down = self.rng.uniform(*plan.down_s)
            timeline.append([round(time.monotonic() - began, 1), [v.index for v in victims], round(down, 2)])
            time.sleep(down)
            for victim in victims:
                victim.start()
        time.sleep(max(0.0, ends - time.monotonic()))
        fleet.ensure_running()
        summary, outcomes = tills.finish()
        self._record(outcomes)
        self.results["chaos"] = {
            "seconds": plan.chaos_s,
            "hq_kills": fleet.kills - kills_before,
            "kill_timeline": timeline,
            "purchases": summary["purchases"],
            "acknowledged": summary["acknowledged"],
            "retried": summary["retried"],
            "replayed": summary["replayed"],
            "refused": summary["refused"],
            "unacknowledged": summary["unacknowledged"],
            "per_s": summary["per_s_all"],
            "tills_s": summary["elapsed_s"],
        }
        log(f"{self.name}: chaos: {self.results['chaos']['hq_kills']} kills, {summary['acknowledged']} purchases")

    def _drain(self, engine: Engine, kiosks: list[SimKiosk]) -> None:
        began = time.monotonic()
        # Shoppers go on until every kiosk has had its events acknowledged by the restarted HQ:
        # an ack resets the relay's ack timeout, which backs off (3, 6, 12 s ...) while HQ keeps
        # being killed, so the last events need not wait that long to be sent again.
        wait_for(lambda: all(k.link.online and k.ledger.outbox_depth() == 0 for k in kiosks), 300, "kiosks heard by HQ")
        for kiosk in kiosks:
            kiosk.stop_redeeming()
        wait_for(lambda: all(k.ledger.outbox_depth() == 0 for k in kiosks), 300, "every kiosk outbox drained")
        self.results["outboxes_drained_s"] = round(time.monotonic() - began, 1)

        def caught_up() -> bool:
            with engine.connect() as conn:
                unpublished = conn.execute(
                    sa.select(sa.func.count()).where(t.member_changes.c.published_version.is_(None))
                ).scalar_one()
                unsent = conn.execute(sa.select(sa.func.count()).where(t.publications.c.sent_at.is_(None))).scalar_one()
                newest = conn.execute(
                    sa.select(sa.func.max(t.publications.c.version)).where(t.publications.c.version_line == "members")
                ).scalar_one()
            applied = all(k.ledger.member_snapshot_version() == newest for k in kiosks)
            return unpublished == 0 and unsent == 0 and applied

        wait_for(caught_up, 300, "the last member update applied at every kiosk")
        self.results["drain_s"] = round(time.monotonic() - began, 1)

    def _record(self, outcomes: list[dict[str, Any]]) -> None:
        for o in outcomes:
            if 200 <= o["status"] < 300:
                self.told.add(o["key"], o["member"], o["points"])
            elif o["status"] == 0:
                self.told.unacknowledged.add(o["key"])
            else:
                self.told.refused[f"{o['status']} {o['error']}"] += 1


def _merged(counters: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counter in counters:
        for key, value in counter.items():
            out[key] = out.get(key, 0) + value
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hq", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per phase, small numbers (CI)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: members, amounts, kill moments")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs, databases)")
    parser.add_argument("--tills-per-hq", default=None, help="throughput rounds' tills per HQ process, e.g. 4,8")
    args = parser.parse_args(argv)
    # The kiosks' links warn whenever HQ stops acknowledging, which the chaos phase makes happen.
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    plan = QUICK if args.quick else FULL
    if args.tills_per_hq:
        plan = replace(plan, tills_per_hq=tuple(int(n) for n in args.tills_per_hq.split(",")))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown or not backends:
        parser.error(f"--backends: unknown {sorted(unknown)}; use sqlite, postgres or both")
    rng = random.Random(args.seed)
    load_at_start = os.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="bench-hq-"))
    root.chmod(0o755)  # PostgreSQL runs as `nobody` when we are root
    if args.keep:
        log(f"keeping {root} (configs, HQ logs, databases, till outcomes)")
    try:
        for name in backends:
            log(f"{name}: starting")
            if name == "sqlite":
                results[name] = BackendRun(name, sqlite_url(root / "sqlite" / "hq.sqlite"), root / "sqlite", plan, rng,
                                           None).run()  # fmt: skip
                continue
            from tests.hq.postgres import Postgres

            server = Postgres(root / "pg", fsync=True)
            server.start()
            try:
                url = server.create_database("bench_hq")
                results[name] = BackendRun(name, url, root / "postgres", plan, rng, server.data).run()
            finally:
                server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    figures = summarise(results, plan, args, time.monotonic() - began)
    figures["load_average_1min"] = {"start": round(load_at_start, 2), "end": round(os.getloadavg()[0], 2)}
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0


def summarise(results: dict[str, dict[str, Any]], plan: Plan, args: argparse.Namespace, seconds: float) -> dict:
    audits = [r["audit"] for r in results.values()]
    p95s = [r["latency"]["purchase_to_kiosk_ms"]["p95"] for r in results.values()]
    p50s = [r["latency"]["purchase_to_kiosk_ms"]["p50"] for r in results.values()]
    machine = describe()
    out: dict[str, Any] = {}
    for name in ("sqlite", "postgres"):
        if name in results:
            out[f"purchases_per_s_{name}"] = results[name]["purchases_per_s"]
    out["purchase_to_kiosk_ms_p95"] = max((p for p in p95s if p is not None), default=None)
    out["purchase_to_kiosk_ms_p50"] = max((p for p in p50s if p is not None), default=None)
    out["lost"] = sum(a["lost"] for a in audits)
    out["duplicated"] = sum(a["duplicated"] for a in audits)
    out["points_mismatch"] = sum(a["points_mismatch"] for a in audits)
    for name, r in results.items():
        out[f"purchases_per_s_{name}_by_hq_processes"] = r["purchases_per_s_by_hq_processes"]
        out[f"purchase_to_kiosk_ms_p95_{name}"] = r["latency"]["purchase_to_kiosk_ms"]["p95"]
        out[f"purchase_to_kiosk_ms_p95_{name}_saturated"] = r["purchase_to_kiosk_ms_saturated"]["p95"]
    out["targets_met"] = {
        "lost_duplicated_mismatch_zero": out["lost"] == out["duplicated"] == out["points_mismatch"] == 0,
        "p95_under_2s": out["purchase_to_kiosk_ms_p95"] is not None and out["purchase_to_kiosk_ms_p95"] < TARGET_P95_MS,
        "postgres_500_per_s": results.get("postgres", {}).get("purchases_per_s", 0) >= TARGET_PER_S,
    }
    out["machine_cores"] = machine["cores"]
    out["cpu"] = machine["cpu"]
    out["mode"] = "quick" if args.quick else "full"
    out["seed"] = args.seed
    out["hq_processes"] = {name: r["hq_processes"] for name, r in results.items()}
    out["members"] = plan.members
    out["probe_members"] = plan.probe_members
    out["kiosks"] = plan.kiosks
    out["tills_per_hq"] = plan.tills_per_hq
    out["purchases"] = sum(a["hq_purchases"] for a in audits)
    out["redemptions"] = sum(a["hq_redemptions"] for a in audits)
    out["taps"] = sum(r["kiosks"]["taps"] for r in results.values())
    out["hq_kills"] = sum(r["chaos"]["hq_kills"] for r in results.values())
    out["durations_s"] = {
        "warmup": plan.warmup_s, "throughput": plan.throughput_s, "latency": plan.latency_s, "chaos": plan.chaos_s,
        **{f"{name}_total": r["seconds"] for name, r in results.items()}, "run": round(seconds, 1),
    }  # fmt: skip
    out.update(results)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
