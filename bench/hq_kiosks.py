"""Simulated kiosks for bench.hq: a real `Ledger` and a real `HqLink` each, in the bench's process.

- `WatchedLedger` is the kiosk's Ledger with one addition: after it applies a member update from
  HQ it calls `on_update`, so the latency probe reads the ledger the moment the new state lands
  (no polling delay in the figure, no polling load on the machine).
- `SimKiosk` taps cards (reads the member's screen: `member_view`) and redeems "eggs" for the
  members it is given, at a set rate, online or offline as the link says.
- `Prober` reports purchases for members nobody else touches and times each one from the moment
  its POST leaves to the moment each kiosk's ledger shows the points (`purchase_to_kiosk_ms`).
"""

from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.errors import LedgerError
from sync.link import HqLink

_LOG = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
REWARD = "eggs"  # 800 points, no per-member limit (the bench's programme also drops its stock cap)
REWARD_COST = 800


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


class WatchedLedger(Ledger):
    """The kiosk's Ledger, calling `on_update` (on the link's thread) after each member update."""

    on_update: Callable[[], None] | None = None

    def apply_member_snapshot(
        self,
        version: int,
        members: Iterable[Mapping[str, Any]],
        acknowledged_event_ids: Iterable[str] = (),
        *,
        full: bool = False,
    ) -> int:
        count = super().apply_member_snapshot(version, members, acknowledged_event_ids, full=full)
        if self.on_update is not None:
            self.on_update()
        return count


class SimKiosk:
    def __init__(
        self, folder: Path, device_id: str, *, broker_port: int, hq_public_key: Ed25519PublicKey, prefix: str
    ) -> None:
        self.device_id = device_id
        self.voucher_key = Ed25519PrivateKey.generate()
        ledger = WatchedLedger.open(
            folder / device_id / "ledger.db", device_id=device_id, clock=Clock(), tz=TZ,
            voucher_key=self.voucher_key,
            # HQ is killed on purpose: the kiosk keeps redeeming offline, and the bench's members
            # must not run into the offline caps meant for a real shop's day.
            offline_limits=OfflineLimits(points_per_day=10**9, redemptions_per_day=10**6),
        )  # fmt: skip
        assert isinstance(ledger, WatchedLedger)
        self.ledger = ledger
        self._link_args: dict[str, Any] = dict(
            device_id=device_id, store_id=f"S{int(device_id[-2:]) % 10:02d}", host="127.0.0.1", port=broker_port,
            tls=None, username=None, password=None, keepalive_s=5, topic_prefix=prefix,
            hq_public_keys=[hq_public_key], ledger=ledger, telemetry_source=dict, clock=Clock(),
            drain_rate_per_s=None, software_version="bench.hq", state_path=folder / device_id / "sync-state.sqlite",
            reconnect_min_s=1, reconnect_max_s=2,
            # A killed HQ drops the events in flight (its MQTT session is clean): resend soon.
            ack_timeout_s=3.0,
        )  # fmt: skip
        self.link = HqLink(**self._link_args)
        self.store_id: str = self._link_args["store_id"]
        self.taps = 0
        self.redemptions: list[tuple[str, str]] = []  # (voucher_id, member_id)
        self.refusals: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._intents = itertools.count(1)

    def start(self) -> None:
        self.link.start()

    def stop(self) -> None:
        self.stop_redeeming()
        self.link.stop()
        self.ledger.close()

    def go_offline(self) -> None:
        """Cut the kiosk from HQ: it redeems offline, its events wait in the outbox."""
        self.link.stop()

    def go_online(self) -> None:
        """A new link over the same ledger and sync state, as after a restart of the kiosk."""
        self.link = HqLink(**self._link_args)
        self.link.start()

    def points(self, member_id: str) -> int | None:
        """What the kiosk's member screen shows, or None if the member has not reached it."""
        try:
            return self.ledger.member_view(member_id).points
        except LookupError:
            return None

    def start_redeeming(self, members: list[str], everyone: list[str], per_s: float) -> None:
        """Shoppers in turn: a tap of anyone's card (the member screen), then one of `members`,
        who redeems "eggs" whenever the screen shows enough points."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._shop, args=(members, everyone, per_s), name=f"{self.device_id}-shoppers"
        )
        self._thread.start()

    def stop_redeeming(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _shop(self, members: list[str], everyone: list[str], per_s: float) -> None:
        # Anyone's card, starting away from the redeemers (the front of the member list).
        passers_by = itertools.cycle(everyone[len(everyone) // 2 :] + everyone[: len(everyone) // 2])
        for member in itertools.cycle(members):
            if self._stop.wait(0.5 / per_s):
                return
            self.taps += 1
            self.points(next(passers_by))
            if self._stop.wait(0.5 / per_s):
                return
            self.taps += 1
            points = self.points(member)
            if points is None or points < REWARD_COST:
                continue
            intent = f"{self.device_id}-{next(self._intents):07d}"
            try:
                voucher = self.ledger.redeem(intent, member, REWARD, online=self.link.online)
            except LedgerError as exc:  # e.g. points held by an event HQ has not merged yet
                name = type(exc).__name__
                self.refusals[name] = self.refusals.get(name, 0) + 1
                continue
            self.redemptions.append((voucher.voucher_id, member))
            self.link.notify_outbox()

    def ledger_vouchers(self) -> list[tuple[str, str, int, bool]]:
        """(voucher_id, member_id, cost_points, issued offline) of every voucher in the kiosk's ledger file."""
        conn = sqlite3.connect(f"file:{self.ledger.path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT voucher_id, member_id, cost_points, offline FROM vouchers WHERE state != 'cancelled'"
            ).fetchall()
        finally:
            conn.close()
        return [(str(v), str(m), int(c), bool(o)) for v, m, c, o in rows]


class Prober:
    """Purchases for probe members at a steady rate, each timed until every kiosk shows it."""

    def __init__(self, url: str, token: str, members: list[str], kiosks: list[SimKiosk], key_prefix: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self._members = members
        self._kiosks = kiosks
        self._key_prefix = key_prefix
        self._expected = dict.fromkeys(members, 0)  # what each probe member should have, from HQ's answers
        self._lock = threading.Lock()
        # (member, points the kiosk must show, when the POST left, kiosks not showing it yet)
        self._pending: list[tuple[str, int, float, set[str]]] = []
        self.latencies_ms: list[float] = []
        self.acknowledged: list[tuple[str, str, int]] = []  # (key, member, points)
        self.unanswered: list[str] = []  # keys of probes HQ never answered 2xx (it may have them)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._n = itertools.count()
        for kiosk in kiosks:
            kiosk.ledger.on_update = lambda kiosk=kiosk: self._check(kiosk)

    def start(self, per_s: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(per_s,), name="prober")
        self._thread.start()

    def stop(self, settle_s: float = 30.0) -> int:
        """Stop probing, wait for the kiosks to show what was probed; returns probes never shown."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return 0
            time.sleep(0.05)
        with self._lock:
            missing = sum(len(waiting) for *_, waiting in self._pending)
            self._pending.clear()
        return missing

    def _loop(self, per_s: float) -> None:
        members = itertools.cycle(self._members)
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at += 1.0 / per_s
            if self._stop.wait(max(0.0, next_at - time.monotonic())):
                return
            self._probe(next(members))

    def _probe(self, member: str) -> None:
        key = f"{self._key_prefix}-{next(self._n):06d}"
        body = json.dumps(
            {"idempotency_key": key, "store_id": "S99", "till_id": "PROBE", "order_no": key, "member_id": member,
             "amount_fen": 10_000, "at": dt.datetime.now(TZ).isoformat(timespec="milliseconds"), "paid_with": "cash"}
        ).encode()  # fmt: skip
        sent = time.perf_counter()
        for attempt in range(3):  # the same request again: a kept-alive connection may have gone idle
            try:
                self._conn.request("POST", "/v1/purchases", body, self._headers)
                response = self._conn.getresponse()
                answer = json.loads(response.read())
                break
            except (OSError, http.client.HTTPException, ValueError):
                self._conn.close()
                if attempt == 2:
                    self.unanswered.append(key)
                    return
        if response.status not in (200, 201):
            self.unanswered.append(key)
            return
        with self._lock:
            self._expected[member] += int(answer["points"])
            self.acknowledged.append((key, member, int(answer["points"])))
            self._pending.append((member, self._expected[member], sent, {k.device_id for k in self._kiosks}))
        for kiosk in self._kiosks:  # the update may have landed before the answer did
            self._check(kiosk)

    def _check(self, kiosk: SimKiosk) -> None:
        now = time.perf_counter()
        with self._lock:
            waiting = [p for p in self._pending if kiosk.device_id in p[3]]
        if not waiting:
            return
        shown = {member: kiosk.points(member) for member in {p[0] for p in waiting}}
        with self._lock:
            for member, expected, sent, kiosks in waiting:
                points = shown[member]
                if points is not None and points >= expected and kiosk.device_id in kiosks:
                    kiosks.discard(kiosk.device_id)
                    self.latencies_ms.append((now - sent) * 1000)
            self._pending = [p for p in self._pending if p[3]]

    def take_latencies(self) -> list[float]:
        with self._lock:
            taken, self.latencies_ms = self.latencies_ms, []
        return taken
