"""Fleet simulation: many kiosks' HQ links against one Mosquitto and the reference HQ tool.

`python -m bench.fleet [--kiosks N] [--events E] [--rate R] [--quick]` from the repository root.

Each simulated kiosk is the sync layer of a real one: its own `kiosk.ledger.Ledger` file (demo
rules, a member with plenty of points) producing redemptions with `ledger.redeem(...)`, and its own
`sync.link.HqLink` (client id = device id, persistent session, relay window, drain rate as
config.yaml ships it), trusting the one HQ key the listeners sign their event acks with. The
kiosks live in worker processes of `--kiosks-per-process` each (default 60; two threads per
kiosk) that this process drives through pipes; Mosquitto (no persistence, tests.sync.broker) and
HQ (`kiosk hq listen --signing-key`, one or more processes in the shared subscription group
`$share/hq/...`, one SQLite database) run as their own processes.

Phases, in one run:
1. live: all kiosks online; redemptions arrive at `--rate` per second across the fleet (each
   kiosk in turn). Latency = HQ's `received_at` (stored, committed) minus the event's
   `created_at` (the ledger's commit), p50/p95/max; everything must also be acked and deleted.
2. backlog, side by side with 1 and with 2 HQ listeners: every kiosk offline (link stopped)
   writes `--events` redemptions; then all links start at once, like a fleet coming back after
   an outage. events_per_s = backlog events / time from the start until every outbox is empty
   (created -> published -> stored at HQ -> acked -> deleted from the kiosk's outbox).

Lost = vouchers in the kiosks' ledgers that are not in HQ's events; duplicated = vouchers HQ
stored more than once. Final line: JSON with kiosks, events_per_s, latency_ms_p95, lost (and more).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.machine import describe
from bench.procstat import cpu_seconds
from sync.keys import generate_keypair
from tests.sync.broker import Mosquitto

_LOG = logging.getLogger("bench.fleet")

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "kiosk/v1"
STORE = "S01"
MEMBER = "M1"
REWARD = "gift-wrap"  # 300 points, no per-member limit, no stock
DRAIN_RATE_PER_S = 50  # config.yaml's hq.drain_rate_per_s
# Why several processes: paho-mqtt's network loop uses select.select(), which raises ValueError for
# a file descriptor >= 1024 (FD_SETSIZE), and paho treats that as a lost connection, silently and
# forever. Each simulated kiosk holds ~10 descriptors (ledger and sync-state databases with -wal and
# -shm, the socket, paho's socketpair), so in one process the links stalled at 96 kiosks online. A
# real kiosk has one link per process; only this harness needs the split.
KIOSKS_PER_PROCESS = 60
HQ_PRIVATE_KEY = "hq_signing.key"
HQ_PUBLIC_KEY = "hq_signing.pub"


class Broker(Mosquitto):
    @property
    def pid(self) -> int:
        assert self._proc is not None, "the broker is not running"
        return self._proc.pid


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class SimKiosk:
    device_id: str
    folder: Path
    ledger: Any  # kiosk.ledger.Ledger
    link: Any | None = None  # sync.link.HqLink


def open_kiosk(root: Path, index: int, clock: Clock) -> SimKiosk:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.ledger import Ledger, OfflineLimits
    from kiosk.ledger.demo import demo_rules

    device_id = f"K{index:04d}"
    folder = root / device_id
    ledger = Ledger.open(
        folder / "ledger.db",
        device_id=device_id,
        clock=clock,
        tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=10**9, redemptions_per_day=10**6),
    )
    now = clock.now()
    ledger.apply_rules(1, demo_rules())
    ledger.apply_member_snapshot(
        1,
        [
            {
                "member_id": MEMBER,
                "name": "张三明",
                "spend_fen": 0,
                "cards": [],
                "lots": [
                    {
                        "lot_id": "L1",
                        "points": 10**9,
                        "earned_at": (now - dt.timedelta(days=1)).isoformat(),
                        "expires_at": (now + dt.timedelta(days=365)).isoformat(),
                    }
                ],
            }
        ],
        (),
        full=True,
    )
    return SimKiosk(device_id, folder, ledger)


def start_link(kiosk: SimKiosk, port: int, clock: Clock, drain_rate: float | None, hq_public_key: Path) -> None:
    from sync.keys import load_public_key
    from sync.link import HqLink

    kiosk.link = HqLink(
        device_id=kiosk.device_id,
        store_id=STORE,
        host="127.0.0.1",
        port=port,
        tls=None,
        username=None,
        password=None,
        keepalive_s=60,
        topic_prefix=PREFIX,
        # Only acks signed with this key empty the outbox (sync.acks).
        hq_public_keys=[load_public_key(hq_public_key)],
        ledger=kiosk.ledger,
        telemetry_source=dict,
        clock=clock,
        drain_rate_per_s=drain_rate,
        software_version="bench",
        state_path=kiosk.folder / "sync-state.db",
    )
    kiosk.link.start()


def stop_link(kiosk: SimKiosk) -> None:
    if kiosk.link is not None:
        kiosk.link.stop()
        kiosk.link = None


def redeem(kiosk: SimKiosk) -> None:
    kiosk.ledger.redeem(str(uuid.uuid4()), MEMBER, REWARD, online=kiosk.link is not None)
    if kiosk.link is not None:
        kiosk.link.notify_outbox()


class HqListeners:
    """`kiosk hq listen` processes sharing one database and one share group."""

    def __init__(self, db: Path, broker: Mosquitto, count: int, log: Path, signing_key: Path):
        port = broker.port
        self.procs = []
        # Only connections logged from now on count (earlier listeners had the same client ids).
        self._log_offset = len(broker.log.read_text(errors="replace")) if broker.log.exists() else 0
        with open(log, "ab") as out:
            for i in range(count):
                self.procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "app",
                            "hq",
                            "listen",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--prefix",
                            PREFIX,
                            "--db",
                            str(db),
                            "--signing-key",
                            str(signing_key),
                            "--client-id",
                            f"hq-fleet-{i + 1}",
                        ],
                        cwd=REPO,
                        stdout=out,
                        stderr=out,
                    )
                )

    def wait_subscribed(self, broker: Mosquitto, timeout_s: float = 30) -> None:
        """Until the broker logged every listener's connection (it subscribes right after CONNACK)."""
        deadline = time.monotonic() + timeout_s
        names = [f"as hq-fleet-{i + 1}" for i in range(len(self.procs))]
        while not all(name in broker.log.read_text(errors="replace")[self._log_offset :] for name in names):
            if time.monotonic() > deadline:
                raise TimeoutError("the HQ listeners did not connect")
            time.sleep(0.1)
        time.sleep(0.5)

    def cpu_s(self) -> float:
        return sum(cpu_seconds(proc.pid) for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_drained(kiosks: list[SimKiosk], timeout_s: float) -> float:
    """Seconds until every outbox is empty (TimeoutError after `timeout_s`)."""
    start = time.monotonic()
    while any(k.ledger.outbox_depth() for k in kiosks):
        if time.monotonic() - start > timeout_s:
            left = sum(k.ledger.outbox_depth() for k in kiosks)
            raise TimeoutError(f"{left} events still in the outboxes after {timeout_s:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - start


def wait_online(kiosks: list[SimKiosk], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(k.link is not None and k.link.online for k in kiosks):
        if time.monotonic() > deadline:
            raise TimeoutError("not every kiosk came online")
        time.sleep(0.05)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered)))) - 1]


def hq_rows(db: Path, since: dt.datetime | None = None) -> list[tuple[str, str, str, str]]:
    """HQ's events (device, created_at, received_at, payload), those received from `since` on."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT device_id, created_at, received_at, payload FROM events").fetchall()
    finally:
        conn.close()
    # Compared as times, not text: HQ's clock writes UTC, the kiosks' their store's offset.
    return [row for row in rows if since is None or dt.datetime.fromisoformat(row[2]) >= since]


# --- kiosk worker processes ------------------------------------------------------------------------------
class KioskGroup:
    """One worker process's share of the fleet: kiosks `first + 1` .. `first + count` (device ids)."""

    def __init__(
        self, root: Path, first: int, count: int, fleet_size: int, drain_rate: float | None, hq_public_key: Path
    ):
        self.clock = Clock()
        self.first, self.fleet_size, self.drain_rate = first, fleet_size, drain_rate
        self.hq_public_key = hq_public_key
        self.kiosks = [open_kiosk(root, first + i + 1, self.clock) for i in range(count)]

    def online(self, port: int, timeout_s: float) -> None:
        for kiosk in self.kiosks:
            start_link(kiosk, port, self.clock, self.drain_rate, self.hq_public_key)
        wait_online(self.kiosks, timeout_s)

    def live(self, start_at: float, events: int, rate: float) -> tuple[float, float]:
        """This group's turns of the fleet-wide schedule: redemption i at start_at + i / rate on kiosk
        i mod fleet size. Returns (monotonic time the last was produced, time the outboxes were empty)."""
        for i in range(self.fleet_size * events):
            mine = i % self.fleet_size - self.first
            if not 0 <= mine < len(self.kiosks):
                continue
            # open loop: each redemption at its scheduled time, whether or not HQ keeps up
            delay = start_at + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            redeem(self.kiosks[mine])
        produced_at = time.monotonic()
        wait_drained(self.kiosks, timeout_s=300)
        return produced_at, time.monotonic()

    def seed(self, events: int) -> None:
        seed_backlog(self.kiosks, events)

    def drain_backlog(self, port: int) -> float:
        """Starts every link and returns the monotonic time (system-wide) every outbox was empty."""
        for kiosk in self.kiosks:
            start_link(kiosk, port, self.clock, self.drain_rate, self.hq_public_key)
        wait_drained(self.kiosks, timeout_s=600)
        return time.monotonic()

    def stop_links(self) -> None:
        for kiosk in self.kiosks:
            stop_link(kiosk)

    def vouchers(self) -> tuple[dict[str, list[str]], int]:
        """Each kiosk's vouchers and the events still in the outboxes."""
        mine = {
            k.device_id: [v for (v,) in k.ledger.conn.execute("SELECT voucher_id FROM vouchers")] for k in self.kiosks
        }
        return mine, sum(k.ledger.outbox_depth() for k in self.kiosks)

    def close(self) -> None:
        for kiosk in self.kiosks:
            stop_link(kiosk)
            kiosk.ledger.close()


def worker_main(
    conn: Any, root: Path, first: int, count: int, fleet_size: int, drain_rate: float | None, hq_public_key: Path
) -> None:
    """Runs (method, args) requests on a KioskGroup until "close"; replies ("ok", result) or ("error", text)."""

    def call(method: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            return "ok", getattr(group, method)(*args)
        except Exception:
            return "error", traceback.format_exc()

    try:
        group = KioskGroup(root, first, count, fleet_size, drain_rate, hq_public_key)
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ok", None))
    try:
        while (request := conn.recv())[0] != "close":
            conn.send(call(*request))
    except EOFError:  # the parent went away
        group.close()
        return
    conn.send(call("close", ()))


class KioskWorkers:
    """The fleet split over worker processes; `call` runs one KioskGroup method in all of them at once."""

    def __init__(self, root: Path, kiosks: int, per_process: int, drain_rate: float | None, hq_public_key: Path):
        # fork: started before the broker, the listeners or any link exists, so nothing is shared
        context = multiprocessing.get_context("fork")
        processes = math.ceil(kiosks / per_process)
        self.conns, self.procs = [], []
        for w in range(processes):
            first, last = w * kiosks // processes, (w + 1) * kiosks // processes
            parent, child = context.Pipe()
            proc = context.Process(
                target=worker_main,
                args=(child, root, first, last - first, kiosks, drain_rate, hq_public_key),
                name=f"fleet-worker-{w + 1}",
                daemon=True,
            )
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        self._replies("open kiosks")

    def _replies(self, what: str) -> list[Any]:
        results: list[Any] = []
        errors: list[str] = []
        for conn, proc in zip(self.conns, self.procs):
            try:
                status, value = conn.recv()
            except EOFError:
                status, value = "error", f"{proc.name} exited ({proc.exitcode})"
            (errors if status == "error" else results).append(value)
        if errors:
            raise RuntimeError(f"{what} failed in a worker:\n" + "\n".join(errors))
        return results

    def call(self, method: str, *args: Any) -> list[Any]:
        for conn in self.conns:
            conn.send((method, args))
        return self._replies(method)

    def cpu_s(self) -> float:
        total = 0.0
        for proc in self.procs:
            assert proc.pid is not None  # every worker was started in __init__
            total += cpu_seconds(proc.pid)
        return total

    def close(self) -> None:
        try:
            self.call("close")
        finally:
            for proc in self.procs:
                proc.join(timeout=60)
                if proc.is_alive():
                    proc.kill()
                    proc.join()


# --- phases -----------------------------------------------------------------------------------------------
def live_phase(workers: KioskWorkers, kiosks: int, events: int, rate: float, db: Path) -> dict[str, Any]:
    """Paced redemptions across the online fleet; latency from ledger commit to HQ commit."""
    since = Clock().now()
    total = kiosks * events
    start = time.monotonic() + 0.5  # every worker has the request by then
    ends = workers.call("live", start, events, rate)
    produce_s = max(produced for produced, _ in ends) - start
    drain_s = max(drained for _, drained in ends) - max(produced for produced, _ in ends)
    latencies = [
        (dt.datetime.fromisoformat(received) - dt.datetime.fromisoformat(created)).total_seconds() * 1e3
        for _, created, received, _ in hq_rows(db, since)
    ]
    return {
        "events": total,
        "offered_rate": rate,
        "achieved_rate": round(total / produce_s, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "latency_ms_max": round(max(latencies), 1) if latencies else None,
        "tail_drain_s": round(max(drain_s, 0), 2),
        "stored": len(latencies),
    }


def seed_backlog(kiosks: list[SimKiosk], events: int) -> None:
    """Offline redemptions on every kiosk (fsync-bound, so several at a time)."""

    def redeem_all(kiosk: SimKiosk) -> None:
        for _ in range(events):
            redeem(kiosk)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(redeem_all, kiosks))  # list() waits for all and re-raises a failure


def backlog_phase(
    workers: KioskWorkers, kiosks: int, events: int, broker: Broker, listeners: int, workdir: Path, db: Path
) -> dict[str, Any]:
    workers.call("seed", events)
    hq = HqListeners(db, broker, listeners, workdir / "hq-listen.log", workdir / HQ_PRIVATE_KEY)
    try:
        hq.wait_subscribed(broker)  # the listeners subscribe before the fleet comes back
        # CPU of each part while the backlog drains: where the next bottleneck is.
        cpu0 = (cpu_seconds(broker.pid), hq.cpu_s(), workers.cpu_s())
        start = time.monotonic()
        drain_s = max(workers.call("drain_backlog", broker.port)) - start
        cpu1 = (cpu_seconds(broker.pid), hq.cpu_s(), workers.cpu_s())
    finally:
        workers.call("stop_links")
        hq.stop()
    total = kiosks * events
    broker_cpu, hq_cpu, kiosks_cpu = (b - a for a, b in zip(cpu0, cpu1))
    return {
        "listeners": listeners,
        "events": total,
        "drain_s": round(drain_s, 2),
        "events_per_s": round(total / drain_s, 1),
        "broker_cpu_ms_per_1k": round(broker_cpu / total * 1e6, 1),
        "hq_cpu_ms_per_1k": round(hq_cpu / total * 1e6, 1),
        "kiosks_cpu_ms_per_1k": round(kiosks_cpu / total * 1e6, 1),
    }


def count_loss(workers: KioskWorkers, db: Path) -> dict[str, int]:
    at_hq: dict[str, list[str]] = {}
    for device, _, _, payload in hq_rows(db):
        at_hq.setdefault(device, []).append(json.loads(payload)["voucher_id"])
    lost = duplicated = created = outbox_left = 0
    for vouchers, left in workers.call("vouchers"):
        outbox_left += left
        for device, mine in vouchers.items():
            stored = at_hq.get(device, [])
            created += len(mine)
            lost += len(set(mine) - set(stored))
            duplicated += len(stored) - len(set(stored))
    return {"created": created, "lost": lost, "duplicated": duplicated, "outbox_left": outbox_left}


def run(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    drain_rate = None if args.drain_rate == 0 else args.drain_rate
    # HQ's signing key: the listeners sign their event acks with it, every kiosk trusts its public half.
    workdir.mkdir(parents=True, exist_ok=True)
    generate_keypair(workdir / HQ_PRIVATE_KEY, workdir / HQ_PUBLIC_KEY, overwrite=True)
    workers = KioskWorkers(
        workdir / "kiosks", args.kiosks, args.kiosks_per_process, drain_rate, workdir / HQ_PUBLIC_KEY
    )
    broker_dir = workdir / "broker"
    broker_dir.mkdir(parents=True)
    broker = Broker(broker_dir)
    figures: dict[str, Any] = {}
    try:
        broker.start()
        db = workdir / "hq.db"
        hq = HqListeners(db, broker, 1, workdir / "hq-listen.log", workdir / HQ_PRIVATE_KEY)
        try:
            hq.wait_subscribed(broker)
            # connecting is CPU-bound here: a second per kiosk is ample
            workers.call("online", broker.port, 60 + args.kiosks)
            live = live_phase(workers, args.kiosks, args.events, args.rate, db)
        finally:
            workers.call("stop_links")
            hq.stop()
        print(f"live: {live}", flush=True)
        backlogs = []
        for listeners in args.listeners:
            result = backlog_phase(workers, args.kiosks, args.events, broker, listeners, workdir, db)
            print(f"backlog: {result}", flush=True)
            backlogs.append(result)
        loss = count_loss(workers, db)
    finally:
        workers.close()
        broker.stop()
    first = backlogs[0]
    figures = {
        "kiosks": args.kiosks,
        "events_per_s": first["events_per_s"],
        "latency_ms_p95": live["latency_ms_p95"],
        "lost": loss["lost"],
        "duplicated": loss["duplicated"],
        "outbox_left": loss["outbox_left"],
        "events_created": loss["created"],
        "latency_ms_p50": live["latency_ms_p50"],
        "latency_ms_max": live["latency_ms_max"],
        "live_rate_offered": live["offered_rate"],
        "live_rate_achieved": live["achieved_rate"],
        "live_events": live["events"],
        "backlog_events": first["events"],
        "drain_rate_per_kiosk": drain_rate,
        **{f"events_per_s_{b['listeners']}_listeners": b["events_per_s"] for b in backlogs},
        **{f"backlog_drain_s_{b['listeners']}_listeners": b["drain_s"] for b in backlogs},
        "broker_cpu_ms_per_1k_events": first["broker_cpu_ms_per_1k"],
        "hq_cpu_ms_per_1k_events": first["hq_cpu_ms_per_1k"],
        "kiosks_cpu_ms_per_1k_events": first["kiosks_cpu_ms_per_1k"],
    }
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 kiosks x 20 events")
    parser.add_argument("--kiosks", type=int, help="simulated kiosks (default 40; quick 10)")
    parser.add_argument("--events", type=int, help="redemptions per kiosk and phase (default 100; quick 20)")
    parser.add_argument("--rate", type=float, help="live phase: redemptions per second, whole fleet (default 100)")
    parser.add_argument(
        "--drain-rate",
        type=float,
        default=DRAIN_RATE_PER_S,
        help=f"per-kiosk backlog drain rate, events/s (default {DRAIN_RATE_PER_S}; 0 = unlimited)",
    )
    parser.add_argument(
        "--listeners",
        type=int,
        nargs="+",
        default=[1, 2],
        help="HQ listener counts to compare in the backlog phase (default 1 2)",
    )
    parser.add_argument(
        "--kiosks-per-process",
        type=int,
        default=KIOSKS_PER_PROCESS,
        help=f"kiosks per worker process (default {KIOSKS_PER_PROCESS}; paho's select() "
        "limits one process to ~96 links)",
    )
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("KIOSK_BENCH_QUICK") == "1"
    args.kiosks = args.kiosks or (10 if quick else 40)
    args.events = args.events or (20 if quick else 100)
    args.rate = args.rate or 100.0
    if min(args.kiosks, args.events, args.kiosks_per_process, *args.listeners) < 1 or args.rate <= 0:
        parser.error("--kiosks, --events, --kiosks-per-process, --listeners must be at least 1 and --rate positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Dozens of links each warn when they lose their broker; -v shows them.
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR, format="%(asctime)s %(name)s %(message)s"
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    print("machine: " + ", ".join(f"{k} {v}" for k, v in describe().items()), flush=True)
    try:
        figures = run(workdir, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = figures["lost"] == 0 and figures["duplicated"] == 0 and figures["outbox_left"] == 0
    print("checks: " + ("nothing lost, nothing doubled" if ok else "FAILED"))
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
