"""`python -m bench.console [--quick]`: the console's member analytics over a fleet-sized PostgreSQL.

Issue #23's benchmark. A private PostgreSQL (tests/hq/postgres.py: initdb as an unprivileged
user in a temp directory, a private port and socket) gets HQ's schema by HQ's own migrations, then
1,000,000 members and 20,000,000 purchases generated inside the server (INSERT ... SELECT over
generate_series, in chunks on two connections; the foreign key to members is not checked during
the load, `session_replication_role = replica`), VACUUM ANALYZE. Then the analytics the console
calls, each run `--repeat` times on one connection (the median is the figure, the first run also
reported since it reads what the load left in the caches, and `*_server_cpu_s` the cluster's CPU
time for the call, parallel workers included, from /proc: on a shared machine the wall time also
holds the waits for a core):

- `rfm_s`: `rfm_segments` over a 365-day window (every buyer scored in SQL, counted per segment);
- `rfm_page_s`: `rfm` for the first 50 members of one segment (the console's table);
- `pyramid_s`: `pyramid` over the same 365 days;
- `metrics_s`: `monthly_metrics` for the last 12 months, fleet-wide;
- `metrics_by_store_s`: the same per store (20 stores).

The data: members M00000001.. enrolled evenly over the three years before `as_of`, home stores
S00..S19; purchases over the two years before `as_of`, each for member 1 + floor(N * u^2) (u
uniform: a skewed fleet where low numbers buy more, so the pyramid has a point), 80 % at the
member's home store, amounts 5..305 yuan skewed low, 2 % fully refunded. Targets (#23): each of
rfm_s, pyramid_s, metrics_s under 5 s on the 2-core development machine. The machine is shared
with other engineers' work: the JSON names the load average at the start of the timings.

The server runs with fsync off (the data dies with the run; only reads are timed),
shared_buffers 2 GB, work_mem 256 MB for the analytics session, and the default parallel workers
(2). `--keep` keeps the cluster's directory, `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of
each query. Final line: one JSON object of figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bench.machine import describe
from hq.analytics import monthly_metrics, pyramid, rfm, rfm_segments
from hq.store.engine import open_engine
from hq.store.migrations import migrate

_LOG = logging.getLogger("bench.console")
AS_OF = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
WINDOW_DAYS = 365
STORES = 20
TARGET_S = 5.0
MONTHS = [f"{2025 + (10 + i) // 12}-{(10 + i) % 12 + 1:02d}" for i in range(12)]  # 2025-11 .. 2026-10

_MEMBERS_SQL = """
INSERT INTO members (member_id, name, home_store, tier, spend_fen, growth_points, period_spend_fen,
                     period_growth, balance_fen, overdraft_points, created_at, updated_at)
SELECT 'M' || lpad(i::text, 8, '0'), 'member ' || i, 'S' || lpad((i % CAST(:stores AS integer))::text, 2, '0'),
       'regular', 0, 0, 0, 0, 0, 0, at, at
FROM (SELECT i, CAST(:as_of AS timestamptz) - interval '1095 days'
                + (i::float8 / CAST(:n AS integer)) * interval '1095 days' AS at
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i) AS g
"""

_PURCHASES_SQL = """
INSERT INTO purchases (purchase_id, idempotency_key, request_digest, store_id, till_id, order_no, member_id,
                       amount_fen, paid_with, at, points, refunded_fen, points_reversed, rules_version,
                       recorded_at)
SELECT 'P' || j, 'K' || j, :digest, 'S' || lpad(store::text, 2, '0'), 'T1', j::text,
       'M' || lpad(m::text, 8, '0'), amount, 'cash', at, amount / 100,
       CASE WHEN refund THEN amount ELSE 0 END, 0, 1, at
FROM (SELECT j, m, amount, at, refund,
             CASE WHEN home THEN m % CAST(:stores AS integer)
                  ELSE floor(other * CAST(:stores AS integer))::int END AS store
      FROM (SELECT j, 1 + floor(CAST(:n AS integer) * power(random(), 2))::int AS m,
                   500 + floor(30000 * random() * random())::bigint AS amount,
                   CAST(:as_of AS timestamptz) - random() * interval '730 days' AS at,
                   random() < 0.02 AS refund, random() < 0.8 AS home, random() AS other
            FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS j) AS r) AS s
"""


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size - 1, total)) for lo in range(1, total + 1, size)]


def load(engine: Engine, members: int, purchases: int, *, loaders: int = 2) -> dict[str, float]:
    """Members, then purchases, generated in the server; chunks shared by `loaders` connections."""
    started = time.monotonic()
    with engine.begin() as conn:
        for lo, hi in _chunks(members, 1_000_000):
            conn.execute(sa.text(_MEMBERS_SQL), {"stores": STORES, "as_of": AS_OF, "n": members, "lo": lo, "hi": hi})
    members_s = time.monotonic() - started
    chunks = _chunks(purchases, 500_000)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(seed: float) -> None:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SET session_replication_role = replica"))
                conn.execute(sa.text("SELECT setseed(:s)"), {"s": seed})
                conn.commit()
                while True:
                    with lock:
                        if not chunks or errors:
                            return
                        lo, hi = chunks.pop(0)
                    params = {"digest": "0" * 64, "stores": STORES, "n": members, "as_of": AS_OF, "lo": lo, "hi": hi}
                    conn.execute(sa.text(_PURCHASES_SQL), params)
                    conn.commit()
                    _LOG.info("purchases %d..%d", lo, hi)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(0.1 + 0.3 * k,)) for k in range(loaders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    purchases_s = time.monotonic() - started - members_s
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE members"))
        conn.execute(sa.text("VACUUM ANALYZE purchases"))
    return {
        "load_members_s": round(members_s, 1),
        "load_purchases_s": round(purchases_s, 1),
        "vacuum_analyze_s": round(time.monotonic() - started - members_s - purchases_s, 1),
    }


def queries() -> dict[str, Callable[[Connection], Any]]:
    return {
        "rfm_s": lambda c: rfm_segments(c, as_of=AS_OF, window_days=WINDOW_DAYS),
        "rfm_page_s": lambda c: rfm(c, as_of=AS_OF, window_days=WINDOW_DAYS, segment="champions", limit=50),
        "pyramid_s": lambda c: pyramid(c, as_of=AS_OF, window_days=WINDOW_DAYS),
        "metrics_s": lambda c: monthly_metrics(c, months=MONTHS),
        "metrics_by_store_s": lambda c: monthly_metrics(c, months=MONTHS, by_store=True),
    }


def explain(conn: Connection, name: str, call: Callable[[Connection], Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement `call` runs, captured through the connection."""
    plans: list[str] = []
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(conn, "before_cursor_execute", capture)
    try:
        call(conn)
    finally:
        sa.event.remove(conn, "before_cursor_execute", capture)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    for statement, parameters in statements:
        cursor = raw.cursor()
        try:
            if statement.startswith(("SELECT set_config", "SELECT current_setting")):
                cursor.execute(statement, parameters)  # the query's planner settings: apply, no plan
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            cursor.close()
    return f"== {name}\n" + "\n\n".join(plans)


def time_queries(engine: Engine, repeat: int, *, show_plans: bool, pg_data: Path) -> dict[str, Any]:
    """Median wall time per query, and the server's CPU time for it (every backend and parallel
    worker of the cluster: on a shared machine the wall time also holds the waits for a core)."""
    from bench.hq_stack import postmaster_pid, tree_cpu_seconds

    postmaster = postmaster_pid(pg_data)
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        conn.execute(sa.text("SET work_mem = '256MB'"))
        conn.commit()  # a SET in a transaction that rolls back would be undone with it
        for name, call in queries().items():
            runs, cpu = [], []
            for _ in range(repeat):
                cpu_before, started = tree_cpu_seconds(postmaster), time.monotonic()
                call(conn)
                runs.append(time.monotonic() - started)
                cpu.append(tree_cpu_seconds(postmaster) - cpu_before)
                conn.rollback()
            stem = name.removesuffix("_s")
            out[name] = round(statistics.median(runs), 3)
            out[stem + "_first_s"] = round(runs[0], 3)
            out[stem + "_server_cpu_s"] = round(statistics.median(cpu), 2)
            _LOG.info(
                "%s: %s (server CPU %s)", name, ", ".join(f"{r:.3f}" for r in runs), ", ".join(f"{c:.2f}" for c in cpu)
            )
            if show_plans:
                print(explain(conn, name, call), flush=True)
                conn.rollback()
    return out


def summary(engine: Engine) -> dict[str, Any]:
    """What the figures are about: the fleet's shape as the analytics see it."""
    with engine.connect() as conn:
        segments = {s.segment: s.members for s in rfm_segments(conn, as_of=AS_OF, window_days=WINDOW_DAYS)}
        tiers = pyramid(conn, as_of=AS_OF, window_days=WINDOW_DAYS)
        last = monthly_metrics(conn, months=MONTHS[-1:])[0]
        size = conn.execute(sa.text("SELECT pg_total_relation_size('purchases')")).scalar_one()
    return {
        "segments": segments,
        "pyramid": {x.tier: [x.members, round(x.revenue_share or 0, 3)] for x in tiers},
        "last_month": {
            "month": last.month,
            "activation_rate": round(last.activation_rate or 0, 4),
            "churn_rate": round(last.churn_rate or 0, 4),
            "repeat_rate": round(last.repeat_rate or 0, 4),
        },
        "purchases_table_gib": round(size / 2**30, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 members and 200,000 purchases (CI)")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--purchases", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each query")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's directory")
    parser.add_argument("--reuse", type=Path, default=None, help="a directory --keep kept: time its data, load nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    members = args.members or (10_000 if args.quick else 1_000_000)
    purchases = args.purchases or (200_000 if args.quick else 20_000_000)

    from tests.hq.postgres import Postgres

    folder = args.reuse or Path(tempfile.mkdtemp(prefix="bench-console-"))
    server = Postgres(folder / "pg", fsync=False)
    engine: Engine | None = None
    try:
        server.start()
        figures: dict[str, Any] = {"members": members, "purchases": purchases}
        if args.reuse:
            engine = open_engine(server.url("hq_console"))
            migrate(engine)  # a newer migration (an index) applies to the kept data
            with engine.connect() as conn:
                figures["members"] = conn.execute(sa.text("SELECT count(*) FROM members")).scalar_one()
                figures["purchases"] = conn.execute(sa.text("SELECT count(*) FROM purchases")).scalar_one()
        else:
            import psycopg

            with psycopg.connect(server.dsn("postgres"), autocommit=True) as admin:
                admin.execute("ALTER SYSTEM SET shared_buffers = '2GB'")
                admin.execute("ALTER SYSTEM SET maintenance_work_mem = '1GB'")
                admin.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
            server.stop()
            server.start()
            engine = open_engine(server.create_database("hq_console"))
            migrate(engine)
            _LOG.info("loading %d members, %d purchases", members, purchases)
            figures.update(load(engine, members, purchases))
        figures["loadavg_1m"] = round(os.getloadavg()[0], 2)
        figures.update(time_queries(engine, args.repeat, show_plans=args.explain, pg_data=server.data))
        figures["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        figures.update(summary(engine))
        figures["targets_met"] = {k: figures[k] < TARGET_S for k in ("rfm_s", "pyramid_s", "metrics_s")}
        figures["machine"] = describe()
    finally:
        if engine is not None:
            engine.dispose()
        server.stop()
        if args.keep or args.reuse:
            print(f"kept {folder}", flush=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
