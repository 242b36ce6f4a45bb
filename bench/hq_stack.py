"""What bench.hq runs against: HQ as real `python -m hq serve` processes, their configs, the
database's seed, and the CPU time of every part (HQ, PostgreSQL, Mosquitto) read from /proc.

Each HQ process has its own hq.yaml (own MQTT client ids, own HTTP port), as two processes against
one PostgreSQL must; a process killed with SIGKILL is started again on the same port, so tills
that retry find it there.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from bench.procstat import CLOCK_TICKS_PER_S
from hq.config import OPERATOR_TOKEN_ENV
from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from sync.topics import HqTopics
from tests.sync.broker import free_port

REPO = Path(__file__).resolve().parents[1]
PREFIX = "kiosk/v1"


class HqProcess:
    """One `python -m hq --config hqN.yaml serve`, started, killed and started again."""

    def __init__(self, folder: Path, index: int, *, database: str, broker_port: int, key_path: Path, token: str):
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / f"hq{index}.yaml"
        self.log = folder / f"hq{index}.log"
        self.token = token
        self.config.write_text(
            yaml.safe_dump(
                {
                    "database": database,
                    "signing_key": str(key_path),
                    "timezone": "Asia/Shanghai",
                    "mqtt": {
                        "host": "127.0.0.1",
                        "port": broker_port,
                        "topic_prefix": PREFIX,
                        "client_id": f"hq-listener-{index}",
                        "publisher_client_id": f"hq-publisher-{index}",
                    },
                    "http": {"host": "127.0.0.1", "port": self.port},
                }
            )  # fmt: skip
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hq", "--config", str(self.config), "--log-level", "WARNING", "serve"],
                cwd=REPO, stdout=out, stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1", OPERATOR_TOKEN_ENV: self.token},
            )  # fmt: skip
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            return False
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if not self.alive():
                raise RuntimeError(f"HQ process {self.index} exited: see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"HQ process {self.index} did not answer /healthz within {timeout_s} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; whatever was in flight is HQ's to recover."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid) if self.alive() and self.proc is not None else 0.0


class HqFleet:
    """The HQ processes of one backend; `scale(n)` adds processes up to n."""

    def __init__(self, folder: Path, *, database: str, broker_port: int, key_path: Path, token: str) -> None:
        self._folder = folder
        self._args: dict[str, Any] = {"database": database, "broker_port": broker_port, "key_path": key_path}
        self.token = token
        self.processes: list[HqProcess] = []
        self.kills = 0

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def scale(self, count: int) -> None:
        while len(self.processes) < count:
            process = HqProcess(self._folder, len(self.processes), token=self.token, **self._args)
            process.start()
            self.processes.append(process)
        for process in self.processes:
            process.wait_healthy()

    def kill_some(self, rng: random.Random) -> list[HqProcess]:
        """SIGKILL one process at random, sometimes every one of them at once."""
        victims = list(self.processes) if rng.random() < 0.25 else [rng.choice(self.processes)]
        for victim in victims:
            victim.kill()
            self.kills += 1
        return victims

    def ensure_running(self) -> None:
        for process in self.processes:
            if not process.alive():
                process.start()
        for process in self.processes:
            process.wait_healthy()

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)

    def stop(self) -> list[int | None]:
        return [p.stop() for p in self.processes]

    def thread_deaths(self) -> dict[str, int]:
        """Threads of HQ processes that died of an exception ("Exception in thread NAME:" on stderr)."""
        deaths: dict[str, int] = {}
        for process in self.processes:
            if process.log.exists():
                for line in process.log.read_text(encoding="utf-8", errors="replace").splitlines():
                    if line.startswith("Exception in thread "):
                        name = line.removeprefix("Exception in thread ").rstrip(":")
                        deaths[name] = deaths.get(name, 0) + 1
        return deaths

    def log_problems(self) -> list[str]:
        """ERROR lines and tracebacks in the HQ logs (a SIGKILL leaves none of its own; a batch of
        kiosk events the database refused, e.g. a deadlock between two HQ processes, logs one)."""
        found: list[str] = []
        for process in self.processes:
            if process.log.exists():
                for line in process.log.read_text(encoding="utf-8", errors="replace").splitlines():
                    if " ERROR " in line or line.startswith("Traceback"):
                        found.append(f"hq{process.index}: {line[:300]}")
        return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of `pid`, of its children that have exited (reaped, so counted in its cutime/cstime)
    and of its live descendants: for PostgreSQL, the postmaster and every backend it ever had."""
    total = 0.0
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                raw = stat.read()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    if pid not in stats:
        return 0.0
    fields = stats[pid]
    total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS_PER_S  # utime stime cutime cstime
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        total += sum(int(value) for value in stats[child][11:15]) / CLOCK_TICKS_PER_S
        stack.extend(children.get(child, []))
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all processes, all cores; /proc/stat), in seconds:
    compared with the bench's own parts it shows whether anything else was running."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def bench_programme() -> dict[str, Any]:
    """The supermarket programme without the eggs' stock cap: kiosks redeem eggs all run long."""
    document = supermarket_program()
    for reward in document["kiosk"]["rewards"]:
        if reward["reward_id"] == "eggs":
            reward.pop("stock", None)
    return document


def seed_programme(engine: Engine, key: Ed25519PrivateKey, now: dt.datetime) -> None:
    with engine.begin() as conn:
        add_program(conn, bench_programme(), key=key, topics=HqTopics(PREFIX), now=now, by="bench.hq")


def enrol_members(engine: Engine, member_ids: Iterable[str], now: dt.datetime) -> None:
    with engine.begin() as conn:
        for member_id in member_ids:
            enrol(conn, NewMember(member_id, "会员" + member_id[-4:]), now)


def seed_points(engine: Engine, member_ids: Iterable[str], now: dt.datetime) -> list[tuple[str, str, int]]:
    """Two big purchases per member (through the service, not HTTP), so kiosks have points to
    redeem from the start; returns (idempotency key, member, points) as a till would have seen."""
    done: list[tuple[str, str, int]] = []
    with engine.begin() as conn:
        for member_id in member_ids:
            for n in (1, 2):
                key = f"seed-{member_id}-{n}"
                result = till.record_purchase(
                    conn, till.Purchase(key, "S00", "SEED", key, member_id, 1_000_000, now), now
                )
                done.append((key, member_id, result.points))
    return done
