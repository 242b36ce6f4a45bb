"""Where a purchase's CPU goes at HQ: the till use case (`hq.service.till.record_purchase`) run in
the bench's own process against the same database, without HTTP, timed and then under cProfile.

- `service_cpu_ms`: CPU per purchase of the use case alone, one transaction each, one thread;
  HQ's CPU per purchase under load (measured from /proc in bench.hq) minus this is what the HTTP
  layer (uvicorn, FastAPI, pydantic, the thread pool) and the listener/pump add.
- `self_pct`: cProfile's self CPU time (the thread's CPU clock, not the wall clock) by package:
  `sqlalchemy` (building statements, the compiled cache, results), `driver` (psycopg or sqlite3,
  including the system calls of their socket or file I/O), `hq` (the use case and the domain),
  `python` (json, datetime, hashlib, ...).
- `programme_load_pct`: the share spent in `current_program` (read and validate the programme
  document), which every purchase does.
- `statements`: statements per purchase that reach the database (BEGIN/COMMIT and the pool's
  liveness check included); `round_trip_us`: one `SELECT 1` on this database, wall and CPU.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import pstats
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from hq.service import till

TZ = ZoneInfo("Asia/Shanghai")


def _bucket(filename: str, name: str) -> str:
    if "/sqlalchemy/" in filename:
        return "sqlalchemy"
    if "/psycopg" in filename or "sqlite3" in name or "psycopg" in name:
        return "driver"
    if "/hq/" in filename or "/sync/" in filename:
        return "hq"
    return "python"


class _Purchases:
    def __init__(self, engine: Engine, members: list[str], key_prefix: str) -> None:
        self.engine = engine
        self.members = members
        self.key_prefix = key_prefix
        self.n = 0
        self.done: list[tuple[str, str, int]] = []

    def run(self, count: int) -> None:
        for _ in range(count):
            key = f"{self.key_prefix}-{self.n:06d}"
            member = self.members[self.n % len(self.members)]
            self.n += 1
            now = dt.datetime.now(TZ)
            with self.engine.begin() as conn:
                result = till.record_purchase(conn, till.Purchase(key, "S98", "PROF", key, member, 12_345, now), now)
            self.done.append((key, member, result.points))


def round_trip_us(engine: Engine, count: int = 500) -> dict[str, float]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            cursor.execute("SELECT 1")
            cursor.fetchall()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        raw.rollback()
    finally:
        raw.close()
    return {"wall": round(wall / count * 1e6, 1), "cpu": round(cpu / count * 1e6, 1)}


def profile_purchases(
    engine: Engine, members: list[str], count: int, key_prefix: str
) -> tuple[dict[str, Any], list[tuple[str, str, int]]]:
    """Figures (see the module docstring) and the purchases made: (key, member, points)."""
    purchases = _Purchases(engine, members, key_prefix)
    purchases.run(max(10, count // 10))  # warm the pool, the statement caches, prepared statements
    # Thread CPU time: the bench's kiosks run in this process meanwhile, on their own threads.
    wall, cpu = time.perf_counter(), time.thread_time()
    purchases.run(count)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    purchases.run(count)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    self_time: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    program = 0.0
    for (filename, _line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.items():
        self_time[_bucket(filename, name)] += tottime
        if name in ("do_execute", "do_commit", "do_ping") and "/sqlalchemy/" in filename:
            calls[name] += ncalls
        if name == "current_program" and filename.endswith("programs.py"):
            program = cumtime
    total = sum(self_time.values()) or 1.0
    figures = {
        "purchases": count,
        "service_cpu_ms": round(cpu / count * 1000, 2),
        "service_wall_ms": round(wall / count * 1000, 2),
        "self_pct": {bucket: round(100 * seconds / total, 1) for bucket, seconds in self_time.most_common()},
        "programme_load_pct": round(100 * program / total, 1),
        # BEGIN goes through do_execute on SQLite (BEGIN IMMEDIATE) and implicitly with the first
        # statement on PostgreSQL; COMMIT is do_commit; PostgreSQL's pool pings on checkout.
        "statements": round(sum(calls.values()) / count, 1),
        "round_trip_us": round_trip_us(engine),
    }
    return figures, purchases.done
