"""`python -m bench.hq_tills JOB.json`: simulated tills reporting purchases to HQ's HTTP API.

A process of its own, so the load generator neither shares the bench's interpreter lock with the
simulated kiosks nor hides its CPU among theirs (bench.hq reports it apart). Each till is a thread
with one keep-alive connection (the standard library's `http.client`: the cheapest client there
is, so the tills take as little of the machine as possible) that reports one purchase at a time,
as a till does: the next sale waits for HQ's answer to the last one.

A purchase that gets no answer (connection refused or reset, a timeout, a 5xx) is sent again,
byte for byte the same body with the same idempotency key, to the next HQ process in the list,
until HQ answers 2xx or a 4xx, or `give_up_s` after the run has ended: a till must never turn one
sale into two, nor drop one it has not seen acknowledged.

JOB.json (written by bench.hq):

    {"urls": ["http://127.0.0.1:8080"], "token": "...", "tills": 8, "duration_s": 30,
     "warmup_s": 5, "rate_per_s": null, "members": ["M00000", ...], "key_prefix": "pg-tp1",
     "seed": 1, "timeout_s": 10, "give_up_s": 60, "out": "/tmp/.../purchases.jsonl"}

`rate_per_s` null: every till sends as fast as HQ answers (closed loop); a number: the tills
together offer that many purchases a second. Output: one JSON line per purchase in `out`
(key, member, status, points, attempts, sent/done seconds since the start), and one JSON summary
line on stdout: acknowledged/unacknowledged/refused counts, `per_s_steady` (acknowledged
purchases a second between warmup_s and duration_s), HTTP latency and the process's CPU time.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
STORES = 10
PAYMENTS = ("cash", "card", "mobile")


@dataclass
class Outcome:
    key: str
    member: str
    amount_fen: int
    status: int = 0  # the final HTTP status; 0 = never answered
    points: int | None = None
    replayed: bool = False
    error: str | None = None
    attempts: int = 0
    sent: float = 0.0  # seconds since the tills started
    done: float = 0.0
    http_s: float = 0.0  # the answered attempt's round trip


class Till:
    """One till: one connection at a time, one purchase at a time, the same request until answered."""

    def __init__(self, job: dict[str, Any], index: int, start: float, stop_new: float, give_up: float) -> None:
        self.job = job
        self.index = index
        self.urls = [urlsplit(url) for url in job["urls"]]
        self.url_index = index % len(self.urls)
        self.start = start
        self.stop_new = stop_new
        self.give_up = give_up
        self.rng = random.Random(f"{job['seed']}-{job['key_prefix']}-{index}")
        self.store = f"S{index % STORES:02d}"
        self.headers = {"Content-Type": "application/json"}
        if job.get("token"):
            self.headers["Authorization"] = f"Bearer {job['token']}"
        self.conn: http.client.HTTPConnection | None = None
        self.outcomes: list[Outcome] = []

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            url = self.urls[self.url_index]
            self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=self.job["timeout_s"])
        return self.conn

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.url_index = (self.url_index + 1) % len(self.urls)  # as a load balancer would

    def run(self) -> None:
        rate = self.job.get("rate_per_s")
        interval = self.job["tills"] / rate if rate else 0.0
        next_at = time.monotonic() + self.rng.uniform(0, interval)
        n = 0
        while time.monotonic() < self.stop_new:
            if interval:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_at = max(next_at + interval, time.monotonic() - interval)
                if time.monotonic() >= self.stop_new:
                    break
            self.outcomes.append(self._purchase(n))
            n += 1
        if self.conn is not None:
            self.conn.close()

    def _purchase(self, n: int) -> Outcome:
        key = f"{self.job['key_prefix']}-{self.index:02d}-{n:06d}"
        member = self.rng.choice(self.job["members"])
        amount = self.rng.randint(500, 50_000)
        body = json.dumps(
            {
                "idempotency_key": key, "store_id": self.store, "till_id": f"T{self.index:02d}", "order_no": key,
                "member_id": member, "amount_fen": amount,
                "at": dt.datetime.now(TZ).isoformat(timespec="milliseconds"),
                "paid_with": self.rng.choice(PAYMENTS),
            }
        ).encode()  # fmt: skip
        outcome = Outcome(key, member, amount, sent=time.monotonic() - self.start)
        while True:
            outcome.attempts += 1
            began = time.monotonic()
            try:
                conn = self._connection()
                conn.request("POST", "/v1/purchases", body, self.headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                outcome.error = type(exc).__name__
            else:
                if status < 500:
                    outcome.status = status
                    outcome.http_s = time.monotonic() - began
                    outcome.done = time.monotonic() - self.start
                    data = json.loads(answer) if answer else {}
                    if 200 <= status < 300:
                        outcome.points, outcome.replayed, outcome.error = data["points"], data["replayed"], None
                    else:
                        outcome.error = str(data.get("error") or data.get("detail"))[:200]
                    return outcome
                self._drop()
                outcome.error = f"http {status}"
            if time.monotonic() > self.give_up:
                outcome.done = time.monotonic() - self.start
                return outcome
            time.sleep(min(0.5, 0.05 * outcome.attempts) * self.rng.uniform(0.5, 1.5))


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def run(job: dict[str, Any]) -> dict[str, Any]:
    cpu0 = os.times()
    start = time.monotonic()
    stop_new = start + job["duration_s"]
    tills = [Till(job, i, start, stop_new, stop_new + job["give_up_s"]) for i in range(job["tills"])]
    threads = [threading.Thread(target=till.run, name=f"till-{i}") for i, till in enumerate(tills)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    cpu1 = os.times()
    outcomes = [outcome for till in tills for outcome in till.outcomes]
    with open(job["out"], "w", encoding="utf-8") as out:
        for outcome in outcomes:
            out.write(json.dumps(asdict(outcome)) + "\n")
    acked = [o for o in outcomes if 200 <= o.status < 300]
    window = (job["warmup_s"], job["duration_s"])
    in_window = sum(1 for o in acked if window[0] <= o.done < window[1])
    http_ms = [o.http_s * 1000 for o in acked]
    return {
        "purchases": len(outcomes),
        "acknowledged": len(acked),
        "replayed": sum(1 for o in acked if o.replayed),
        "refused": sum(1 for o in outcomes if 400 <= o.status < 500),
        "unacknowledged": sum(1 for o in outcomes if o.status == 0),
        "retried": sum(1 for o in outcomes if o.attempts > 1),
        "attempts": sum(o.attempts for o in outcomes),
        "per_s_steady": round(in_window / (window[1] - window[0]), 1),
        "per_s_all": round(len(acked) / max(elapsed, 1e-9), 1),
        "http_ms_p50": round(percentile(http_ms, 0.5) or 0, 1),
        "http_ms_p95": round(percentile(http_ms, 0.95) or 0, 1),
        "cpu_s": round(cpu1.user - cpu0.user + cpu1.system - cpu0.system, 3),
        "elapsed_s": round(elapsed, 2),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.hq_tills JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    print(json.dumps(run(job)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
