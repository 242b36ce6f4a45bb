"""Chaos suite: the real kiosk, a real Mosquitto and the reference HQ tool under a nemesis.

`python -m bench.chaos [--quick] [--faults-per-kind N] [--seed S] [--keep]` from the repository root.

Parts, all real and each its own process:
- the kiosk: `kiosk run` in simulation (emulated RC522, demo cards), supervised by
  bench.supervisor as systemd would (Type=notify, WatchdogSec, Restart=always), driven through
  its simulation control socket: cards into the field and the touchscreen's own intents;
- Mosquitto without persistence (tests.sync.broker), on a free loopback port;
- HQ: `kiosk hq listen` (events stored once by (device, seq), acked after the commit), and
  `kiosk hq publish-members` once at the start so the demo members have points to spend.

Workload (one shopper after another): tap a demo card (1-4, 6, 7 in turn); on the member screen
check in (每日签到, once a store day), claim the birthday gift when its window is open (HQ's snapshot
gives cards 1, 2 and 4 a birthday today), then either spin the prize wheel (about one visit in
three, while it can spin) or open the rewards, choose the cheapest one the member can have,
confirm and type the PIN when the keypad asks (the snapshot gives every member the demo PIN);
Done, take the card away. Cards 3 and 7 forget their PIN: from their third visit on they type
wrong PINs until the kiosk locks their redemptions (`pin_locked`), once each (nobody at this
HQ unlocks them), and go on checking in and spinning. The kiosk runs as bench.chaos_kiosk: `kiosk
run` with these touches on its simulation control socket.

Nemesis, two independent timelines so faults overlap as they would in a shop:
- kiosk: `kill_kiosk` (SIGKILL; the supervisor restarts it) and `pause_kiosk` (SIGSTOP past the
  watchdog period: the supervisor must notice the missing pings, abort and restart it);
- broker: `kill_broker` (SIGKILL and restart, losing every session and queued message),
  `partition` (broker stopped for a while, quick 4-6 s, full 60-120 s: the kiosk goes offline and
  keeps redeeming from its ledger; the events wait in its outbox) and `freeze_broker` (SIGSTOP,
  then SIGCONT, quick 12-16 s, full 20-60 s: a hung broker or a network that silently drops
  packets. Every TCP connection stays open and the kernel still accepts new ones, but nothing
  answers; the kiosk keeps publishing into a socket no one reads until its MQTT keepalive (5 s
  here) tells it the link is dead, then its reconnect attempts pile up unanswered in the broker's
  accept queue. On SIGCONT the broker reads all of that at once: stale sessions, late
  publishes, connects from sockets the kiosk already gave up on);
- forger (bench.forger), a client with HQ's broker rights but not HQ's signing key: `forge_acks`
  joins HQ's shared subscription for a few seconds (quick 6-8 s, full 20-40 s), so the broker
  hands it a share of the kiosk's events that HQ never sees, and acks each with a forgery
  (unsigned, signed with another key, or another key's signature under HQ's key id), sweeping
  all it holds every few seconds: a kiosk that believed one would lose those events for good;
  `retained_commands` leaves retained commands on the kiosk's fleet, store and device command
  topics: a forged `resync` and a genuine HQ command captured off the wire, replayed retained.
  Meanwhile HQ sends a signed, non-retained `request_telemetry` every few seconds (what the forger
  captures), and the telemetry it brings back carries the kiosk's own count of what it refused.

Check (Jepsen's "set" test, per event type), after the nemesis has stopped, everything is restarted healthy and the
outbox has drained: a redemption is *confirmed* when the control socket answered the voucher screen
with a voucher id (also when a later tap finished it); *indeterminate* when the confirm got no
answer (kiosk killed or stopped mid-request): it may or may not have happened; *failed* when the
kiosk answered with another screen. Then, against HQ's `events` table:
lost = confirmed vouchers not at HQ; duplicated = vouchers (or event ids) stored more than once, plus
(device, seq) conflicts; unexpected = vouchers at HQ that were neither confirmed nor indeterminate.
The same for the other events the kiosk sends, each by its own key: `checkin` by member and day (confirmed: the check-in
screen came back), `wheel_spin` by spin id (the wheel answered with the prize of that spin),
`birthday_gift` and `pin_locked` by member (the voucher; the keypad saying locked), once per run
each; an indeterminate one (no answer) may or may not be at HQ. Besides what the shopper saw,
every event of these types the kiosk's ledger holds (its checkins, wheel_spins, birthday_gifts
and PIN-lock rows) must be at HQ (`ledger_not_at_hq`): with an empty outbox, that is no event
acked without HQ storing it.
Also: the kiosk's outbox is empty and `PRAGMA integrity_check` passes on its ledger (kiosk stopped)
and on HQ's database, and every voucher in the kiosk's ledger is at HQ. And the kiosk noticed each
frozen broker by itself: no screen answered while the broker was frozen may still say "online" once
the freeze has lasted past the keepalive's limit (2 x keepalive and a margin), counted as
`online_while_frozen`. And the forgeries: no forged command was applied (HQ's record of the kiosk's
command answers: `forged_commands_applied`), and the kiosk noticed the forged acks (telemetry
`link.unverified_acks`, or a `security.unverified_ack` event at HQ).

Final line: JSON with confirmed (redemptions), lost, duplicated, unexpected (all types), faults,
confirmed_by_type / lost_by_type / duplicated_by_type / unexpected_by_type, `events_by_type` (the
audit of each type) and the details. Exit
status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.control_client import ControlClient, ControlError
from bench.forger import FORGED_ID_PREFIX, Forger, HqCommander
from bench.machine import describe
from bench.supervisor import KioskUnit
from kiosk.ledger.demo import DEMO_PIN
from sync.keys import generate_keypair, load_private_key
from sync.topics import Scope
from tests.sync.broker import Mosquitto

_LOG = logging.getLogger("bench.chaos")

REPO = Path(__file__).resolve().parents[1]
PREFIX = "kiosk/v1"
MEMBER_KEYS = (1, 2, 3, 4, 6, 7)  # 5 is a card reported lost
#: Members HQ's snapshot gives a birthday today (cards 1, 2, 4; card 2's demo birthday is today anyway).
BIRTHDAY_MEMBERS = ("M0001", "M0002", "M0004")
#: Cards whose member types wrong PINs until locked out, from that card's visit LOCKOUT_FROM_VISIT on.
LOCKOUT_KEYS = (3, 7)
LOCKOUT_FROM_VISIT = 3
WRONG_PIN = "1357"
#: Share of visits that spin the wheel instead of redeeming (while the wheel can spin).
SPIN_SHARE = 0.35
#: The event types audited besides redemptions (docs/mqtt.md), each by its own key.
OTHER_EVENTS = ("checkin", "wheel_spin", "birthday_gift", "pin_locked")
COOLDOWN_MS = 200
#: Member snapshot version HQ publishes (the demo seed is version 1).
SNAPSHOT_VERSION = 2
PLENTY_OF_POINTS = 50_000_000
KIOSK_FAULTS = ("kill_kiosk", "pause_kiosk")
BROKER_FAULTS = ("kill_broker", "partition", "freeze_broker")
FORGER_FAULTS = ("forge_acks", "retained_commands")
#: HQ's genuine `request_telemetry` commands, one this often (the forger replays them).
COMMAND_EVERY_S = 3.0
#: MQTT keepalive given to the kiosk (the least kiosk/config/schema.py allows): paho pings after one
#: keepalive without a byte from the broker and gives up one keepalive later.
KEEPALIVE_S = 5
#: A kiosk still showing "online" this long into a freeze did not notice the dead link. Two
#: keepalives, paho's once-a-second check, the UI's 4 Hz tick and a margin for a busy machine.
FREEZE_NOTICE_BOUND_S = 2 * KEEPALIVE_S + 4
#: HQ's key pair, where config.yaml's `security.hq_public_key` (and simulation's private half) live.
HQ_PRIVATE_KEY = Path("var/keys/hq_private.pem")
HQ_PUBLIC_KEY = Path("var/keys/hq_public.pem")


@dataclass(frozen=True)
class Profile:
    faults_per_kind: int
    partition_s: tuple[float, float]
    freeze_s: tuple[float, float]
    gap_s: tuple[float, float]  # calm between two broker faults
    kiosk_gap_s: tuple[float, float]  # calm between two kiosk faults (spread over the broker timeline)
    forge_gap_s: tuple[float, float]  # calm between two forger moves
    steal_s: tuple[float, float]  # how long the forger takes a share of the events
    pause_extra_s: float  # SIGSTOP lasts until the watchdog fires; this is the cap beyond the period
    watchdog_s: float
    drain_timeout_s: float


# Quick freezes last just past the notice bound, so the kiosk detects most of them itself and
# tries to reconnect into the frozen broker at least once. The drain allows for events the forger
# stole: the kiosk sends them again after its ack timeout (30 s, doubled while nothing is acked).
QUICK = Profile(
    faults_per_kind=3,
    partition_s=(4, 6),
    freeze_s=(12, 16),
    gap_s=(1, 3),
    kiosk_gap_s=(1, 3),
    forge_gap_s=(3, 8),
    steal_s=(6, 8),
    pause_extra_s=5,
    watchdog_s=3,
    drain_timeout_s=150,
)
FULL = Profile(
    faults_per_kind=5,
    partition_s=(60, 120),
    freeze_s=(20, 60),
    gap_s=(8, 25),
    kiosk_gap_s=(30, 70),
    forge_gap_s=(40, 120),
    steal_s=(20, 40),
    pause_extra_s=5,
    watchdog_s=3,
    drain_timeout_s=400,
)


# --- history ---------------------------------------------------------------------------------------------
@dataclass
class History:
    """What the workload saw: Jepsen's ok / info / fail, keyed by voucher id and intent id."""

    confirmed: dict[str, str | None] = field(default_factory=dict)  # voucher_id -> intent_id (None: resumed)
    indeterminate: set[str] = field(default_factory=set)  # intent ids whose confirm got no answer
    failed: dict[str, str] = field(default_factory=dict)  # intent id -> what the kiosk showed instead
    attempts: int = 0
    screens: collections.Counter = field(default_factory=collections.Counter)  # notices etc. seen after a tap
    offline_confirmed: int = 0
    resumed: int = 0
    # The other event types (OTHER_EVENTS), by the keys `event_key` gives: confirmed keys, and the
    # loose keys (what was known before asking) of those that got no answer.
    events_confirmed: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in OTHER_EVENTS})
    events_indeterminate: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in OTHER_EVENTS})
    events_failed: collections.Counter = field(default_factory=collections.Counter)  # "type:reason"
    locked_members: set[str] = field(default_factory=set)  # no more lock-outs (nor redemptions) for them


@dataclass
class FaultLog:
    counts: collections.Counter = field(default_factory=collections.Counter)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, detail)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, t0: float, kind: str, detail: str = "") -> None:
        with self.lock:
            self.counts[kind] += 1
            self.events.append((round(time.monotonic() - t0, 1), kind, detail))
        _LOG.info("fault %s %s", kind, detail)


class LinkWatch:
    """What the kiosk's screens said about HQ while the broker was frozen.

    The shopper reports every answer's online mark with the times the question left and the answer
    came back; the nemesis says when a freeze began and ended. An answer counts as given during the
    freeze only if it left after the freeze began and came back before the thaw.
    """

    def __init__(self, notice_bound_s: float):
        self.notice_bound_s = notice_bound_s
        self.lock = threading.Lock()
        self.frozen_at: float | None = None
        self.seen: list[tuple[float, float, bool]] = []  # during the current freeze
        self.noticed = 0  # freezes during which an answer said offline
        self.online_while_frozen = 0  # freezes with an "online" answer past the notice bound
        self.noticed_after_s: list[float] = []  # freeze start to the first "offline" question
        self.confirmed_while_frozen = 0  # redemptions go on: online until noticed, offline after

    def confirmed(self) -> None:
        with self.lock:
            self.confirmed_while_frozen += self.frozen_at is not None

    def observe(self, sent: float, received: float, online: object) -> None:
        if not isinstance(online, bool):
            return  # a screen without the mark
        with self.lock:
            if self.frozen_at is not None and sent >= self.frozen_at:
                self.seen.append((sent, received, online))

    def freeze(self) -> None:
        with self.lock:
            self.frozen_at, self.seen = time.monotonic(), []

    def thaw(self) -> None:
        """Call just before SIGCONT: every answer counted came from a kiosk facing a frozen broker."""
        thawed = time.monotonic()
        with self.lock:
            start, seen, self.frozen_at = self.frozen_at, self.seen, None
        if start is None:
            return
        during = [(sent, online) for sent, received, online in seen if received <= thawed]
        offline = [sent for sent, online in during if not online]
        if offline:
            self.noticed += 1
            self.noticed_after_s.append(round(offline[0] - start, 1))
        if any(online and sent >= start + self.notice_bound_s for sent, online in during):
            self.online_while_frozen += 1
            _LOG.error("the kiosk still said online %.0f s into a broker freeze", self.notice_bound_s)


# --- set-up ------------------------------------------------------------------------------------------------
def write_config(workdir: Path, port: int) -> Path:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    data["reader"]["cooldown_ms"] = COOLDOWN_MS
    data["hq"].update(host="127.0.0.1", port=port, keepalive_s=KEEPALIVE_S, topic_prefix=PREFIX, drain_rate_per_s=1000)
    # Offline redemptions must go on for the whole partition; the caps are the shop's policy, not
    # what is tested here.
    data["ledger"].update(
        offline_max_points_per_day=10**9, offline_max_redemptions_per_day=10**6, stale_denylist_max_points=10**9
    )
    data["logging"]["level"] = "INFO"
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def write_member_snapshot(path: Path) -> None:
    """The demo members with plenty of points, every one with the demo PIN (the rules ask silver
    and above for it), and BIRTHDAY_MEMBERS born today (the birthday gift's window is open)."""
    from kiosk.ledger.demo import DEMO_PIN, demo_members
    from kiosk.ledger.pin_kdf import hash_pin

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    members = demo_members(now)
    pin_hash = hash_pin(DEMO_PIN)
    birthday = now.date().replace(year=1992).isoformat()  # UTC's day: today or yesterday in the store
    for member in members:
        member["pin_hash"] = pin_hash
        if member["member_id"] in BIRTHDAY_MEMBERS:
            member["birthday"] = birthday
        member["lots"].append(
            {
                "lot_id": "CHAOS",
                "points": PLENTY_OF_POINTS,
                "earned_at": (now - dt.timedelta(days=1)).isoformat(),
                "expires_at": (now + dt.timedelta(days=300)).isoformat(),
            }
        )
    path.write_text(json.dumps({"members": members}, ensure_ascii=False), encoding="utf-8")


class HqProcess:
    """`kiosk hq listen` as its own process (the reference HQ tool), signing its acks with `signing_key`."""

    def __init__(self, workdir: Path, port: int, signing_key: Path):
        self.db = workdir / "hq.db"
        self.log_path = workdir / "hq-listen.log"
        self.port = port
        self.signing_key = signing_key
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "hq",
                    "listen",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--prefix",
                    PREFIX,
                    "--db",
                    str(self.db),
                    "--signing-key",
                    str(self.signing_key),
                    "--client-id",
                    "hq-chaos",
                ],
                cwd=REPO,
                stdout=log,
                stderr=log,
            )

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def hq_keys(kiosk_dir: Path) -> Path:
    """HQ's signing key pair where the simulated kiosk looks for it; returns the private half.

    Made before anything starts: HQ signs its event acks with it from its first batch, and the
    kiosk, which only creates the pair when it is missing, then trusts exactly this key.
    """
    private = kiosk_dir / HQ_PRIVATE_KEY
    generate_keypair(private, kiosk_dir / HQ_PUBLIC_KEY, overwrite=True)
    return private


def publish_members(workdir: Path, config_dir: Path, port: int, hq_db: Path) -> None:
    snapshot = workdir / "members.json"
    write_member_snapshot(snapshot)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "hq",
            "publish-members",
            str(snapshot),
            "--signing-key",
            str(config_dir / HQ_PRIVATE_KEY),
            "--db",
            str(hq_db),
            "--version",
            str(SNAPSHOT_VERSION),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--prefix",
            PREFIX,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"publish-members failed: {result.stdout}{result.stderr}")


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Read-only query of a SQLite file another process may be writing (WAL)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.25) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return
        except sqlite3.Error:
            pass  # the table may not exist yet
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


# --- workload ------------------------------------------------------------------------------------------
class Shopper(threading.Thread):
    """Redeems through the control socket until told to stop; survives kiosk restarts."""

    def __init__(self, unit: KioskUnit, control_path: Path, history: History, rng: random.Random, watch: LinkWatch):
        super().__init__(name="shopper", daemon=True)
        self.unit = unit
        self.control_path = control_path
        self.history = history
        self.rng = rng
        self.watch = watch
        self.stop_event = threading.Event()
        self.client: ControlClient | None = None
        self.errors = 0

    def run(self) -> None:
        turn = 0
        visits: collections.Counter = collections.Counter()
        while not self.stop_event.is_set():
            key = MEMBER_KEYS[turn % len(MEMBER_KEYS)]
            turn += 1
            visits[key] += 1
            try:
                self._connect()
                self._visit(key, lock_out=key in LOCKOUT_KEYS and visits[key] >= LOCKOUT_FROM_VISIT)
            except (ControlError, OSError) as exc:  # the kiosk died, was stopped, or is restarting
                self.errors += 1
                _LOG.debug("shopper: %s", exc)
                self._disconnect()
                self.unit.wait_ready(5)
                time.sleep(0.2)

    def _connect(self) -> None:
        if self.client is None:
            self.unit.wait_ready(30)
            self.client = ControlClient(self.control_path, connect_timeout_s=10, reply_timeout_s=20)

    def _disconnect(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except OSError:
                pass
            self.client = None

    def _ask(self, **command: Any) -> dict[str, Any]:
        assert self.client is not None
        sent = time.monotonic()
        answer = self.client.ask(**command)
        self.watch.observe(sent, time.monotonic(), answer.get("online"))
        return answer

    def _wait_screen(self, timeout_s: float = 8.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            state = self._ask(cmd="state")
            if state.get("screen") not in ("idle", "reading") or time.monotonic() > deadline:
                return state
            time.sleep(0.03)

    def _visit(self, key: int, *, lock_out: bool) -> None:
        """One shopper at the kiosk: tap, check in, birthday gift, then a spin, a redemption or a lock-out."""
        ask = self._ask
        ask(cmd="intent", intent="done")
        ask(cmd="remove")
        time.sleep(COOLDOWN_MS / 1000 + 0.1)  # the previous card is forgotten
        ask(cmd="tap", key=key)
        try:
            state = self._wait_screen()
            self.history.screens[state.get("notice") or state.get("screen")] += 1
            if state.get("screen") == "voucher" and state.get("voucher_id"):
                # A tap finished a redemption the card still owed (the kiosk died between phases).
                self.history.confirmed.setdefault(state["voucher_id"], None)
                self.history.resumed += 1
                return
            if state.get("screen") != "member":
                return
            member_id = str(state.get("member_id"))
            if state.get("checked_in_today") is False:
                state = self._feature(
                    "checkin",
                    member_id,
                    "check_in",
                    lambda a: a.get("checkin_day") and f"{member_id}/{a['checkin_day']}",
                )
            if state.get("screen") == "member" and state.get("birthday_gift") == "open":
                state = self._feature(
                    "birthday_gift", member_id, "claim_birthday_gift", lambda a: a.get("voucher_id") and member_id
                )
            if state.get("screen") != "member":
                return
            if lock_out and member_id not in self.history.locked_members:
                self._lock_out(member_id)
            elif state.get("can_spin") and self.rng.random() < SPIN_SHARE:
                self._spin()
            elif member_id not in self.history.locked_members:
                self._redeem()
        finally:
            if self.client is not None:
                ask(cmd="intent", intent="done")
                ask(cmd="remove")
        time.sleep(self.rng.uniform(0, 0.1))

    def _feature(self, kind: str, loose: str, intent: str, confirmed_key: Any) -> dict[str, Any]:
        """One touch that makes a `kind` event; `confirmed_key(answer)` is the event's key when the
        answer shows it done. Back to the member screen afterwards; returns that state."""
        try:
            answer = self._ask(cmd="intent", intent=intent)
        except (ControlError, OSError):
            self.history.events_indeterminate[kind].add(loose)
            raise
        if not answer.get("ok") and "screen" not in answer:
            self.history.events_indeterminate[kind].add(loose)  # still queued: it may yet run
            return answer
        key = confirmed_key(answer)
        if key:
            self.history.events_confirmed[kind].add(key)
        else:
            self.history.events_failed[f"{kind}:{answer.get('notice') or answer.get('screen')}"] += 1
        return self._ask(cmd="intent", intent="back")

    def _spin(self) -> None:
        wheel = self._ask(cmd="intent", intent="open_wheel")
        if not (wheel.get("spin_id") and wheel.get("can_spin")):
            return
        spin_id = str(wheel["spin_id"])
        try:
            answer = self._ask(cmd="intent", intent="spin")
        except (ControlError, OSError):
            self.history.events_indeterminate["wheel_spin"].add(spin_id)
            raise
        if answer.get("spun_id") == spin_id:
            self.history.events_confirmed["wheel_spin"].add(spin_id)
        elif not answer.get("ok") and "screen" not in answer:
            self.history.events_indeterminate["wheel_spin"].add(spin_id)
        else:
            self.history.events_failed[f"wheel_spin:{answer.get('notice') or answer.get('spin_reason')}"] += 1

    def _keypad(self) -> dict[str, Any] | None:
        """Rewards and the cheapest choosable one: the confirm screen, or None."""
        ask = self._ask
        rewards = ask(cmd="intent", intent="open_rewards")
        choosable = [r for r in rewards.get("rewards", []) if r["choosable"]]
        if not choosable:
            return None
        reward = min(choosable, key=lambda r: (r["cost"], r["reward_id"]))
        confirm = ask(cmd="intent", intent="choose", reward_id=reward["reward_id"])
        if confirm.get("screen") != "confirm":
            return None
        return confirm

    def _lock_out(self, member_id: str) -> None:
        """Wrong PINs at the keypad until the kiosk locks the member's redemptions."""
        confirm = self._keypad()
        if confirm is None:
            return
        keypad = self._ask(cmd="intent", intent="confirm")
        while "pin_blocked" in keypad and keypad["pin_blocked"] is None:
            try:
                keypad = self._ask(cmd="intent", intent="pin", pin=WRONG_PIN)
            except (ControlError, OSError):
                self.history.events_indeterminate["pin_locked"].add(member_id)  # the wrong PIN may have locked
                raise
            if not keypad.get("ok") and "screen" not in keypad:
                self.history.events_indeterminate["pin_locked"].add(member_id)
                return
            if keypad.get("pin_blocked") == "locked":
                self.history.events_confirmed["pin_locked"].add(member_id)
        if keypad.get("pin_blocked") == "locked":
            self.history.locked_members.add(member_id)  # locked now, or by a lock-out that got no answer

    def _redeem(self) -> None:
        confirm = self._keypad()
        if confirm is None:
            return
        intent_id = confirm["intent_id"]
        self.history.attempts += 1
        try:
            answer = self._ask(cmd="intent", intent="confirm")
            if "pin_blocked" in answer and answer["pin_blocked"] is None:  # the keypad: the right PIN
                answer = self._ask(cmd="intent", intent="pin", pin=DEMO_PIN)
        except (ControlError, OSError):
            self.history.indeterminate.add(intent_id)
            raise
        if answer.get("screen") == "voucher" and answer.get("voucher_id"):
            self.history.confirmed[answer["voucher_id"]] = intent_id
            self.watch.confirmed()
            self.history.offline_confirmed += bool(answer.get("offline"))
        elif not answer.get("ok") and "screen" not in answer:
            # "did not answer in time": the command is still queued and may yet run.
            self.history.indeterminate.add(intent_id)
        elif answer.get("notice") == "card_removed_too_soon":
            self.history.indeterminate.add(intent_id)  # pending: the next tap may finish it
        elif answer.get("pin_blocked"):
            self.history.failed[intent_id] = f"pin_{answer['pin_blocked']}"
        else:
            self.history.failed[intent_id] = answer.get("notice") or answer.get("screen") or "?"


# --- nemesis ----------------------------------------------------------------------------------------------
class Nemesis:
    def __init__(
        self,
        unit: KioskUnit,
        broker: Mosquitto,
        profile: Profile,
        rng: random.Random,
        faults: FaultLog,
        t0: float,
        watch: LinkWatch,
        forger: Forger,
    ):
        self.unit = unit
        self.broker = broker
        self.forger = forger
        self.watch = watch
        self.profile = profile
        self.rng = rng
        self.faults = faults
        self.t0 = t0
        self.broker_lock = threading.Lock()

    def schedule(self, kinds: tuple[str, ...]) -> list[str]:
        plan = [kind for kind in kinds for _ in range(self.profile.faults_per_kind)]
        self.rng.shuffle(plan)
        return plan

    def run_timeline(self, kinds: tuple[str, ...], gap_s: tuple[float, float]) -> None:
        for kind in self.schedule(kinds):
            time.sleep(self.rng.uniform(*gap_s))
            getattr(self, kind)()

    def kill_kiosk(self) -> None:
        self.unit.wait_ready(60)
        time.sleep(self.rng.uniform(0, 1.0))  # land anywhere in a redemption
        if self.unit.signal(signal.SIGKILL):
            self.faults.note(self.t0, "kill_kiosk")
            self._wait_restarted()

    def pause_kiosk(self) -> None:
        self.unit.wait_ready(60)
        time.sleep(self.rng.uniform(0, 1.0))
        before = self.unit.counters.watchdog_kills
        generation = self.unit.generation
        if not self.unit.signal(signal.SIGSTOP):
            return
        self.faults.note(self.t0, "pause_kiosk")
        # The supervisor's watchdog must end this; if it does not, resume the kiosk ourselves.
        deadline = time.monotonic() + self.profile.watchdog_s + self.profile.pause_extra_s
        while self.unit.generation == generation and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.unit.counters.watchdog_kills == before and self.unit.generation == generation:
            _LOG.error("watchdog did not fire for a stopped kiosk")
            self.unit.signal(signal.SIGCONT)
        self._wait_restarted()

    def kill_broker(self) -> None:
        with self.broker_lock:
            self.broker.kill()
            self.faults.note(self.t0, "kill_broker")
            time.sleep(self.rng.uniform(0, 1.0))
            self.broker.start()

    def partition(self) -> None:
        with self.broker_lock:
            seconds = self.rng.uniform(*self.profile.partition_s)
            self.broker.stop()
            self.faults.note(self.t0, "partition", f"{seconds:.0f} s")
            time.sleep(seconds)
            self.broker.start()

    def freeze_broker(self) -> None:
        with self.broker_lock:
            seconds = self.rng.uniform(*self.profile.freeze_s)
            self.broker.freeze()
            self.watch.freeze()
            self.faults.note(self.t0, "freeze_broker", f"{seconds:.0f} s")
            try:
                time.sleep(seconds)
            finally:
                self.watch.thaw()
                self.broker.thaw()

    def forge_acks(self) -> None:
        seconds = self.rng.uniform(*self.profile.steal_s)
        self.faults.note(self.t0, "forge_acks", f"{seconds:.0f} s")
        stolen = self.forger.steal(seconds)
        _LOG.info("forger took %d events and acked them with forgeries", stolen)

    def retained_commands(self) -> None:
        kinds = self.forger.retained_round()
        self.faults.note(self.t0, "retained_commands", "+".join(kinds))

    def _wait_restarted(self) -> None:
        time.sleep(0.5)
        self.unit.wait_ready(90)


# --- check ---------------------------------------------------------------------------------------------------
def check(history: History, hq_db: Path, ledger_db: Path) -> dict[str, Any]:
    rows = query(hq_db, "SELECT seq, event_id, payload FROM events WHERE type = 'redemption'")
    by_voucher: collections.Counter = collections.Counter()
    by_event: collections.Counter = collections.Counter()
    intents_at_hq: dict[str, str] = {}
    for _seq, event_id, payload in rows:
        body = json.loads(payload)
        by_voucher[body["voucher_id"]] += 1
        by_event[event_id] += 1
        intents_at_hq[body["voucher_id"]] = body.get("intent_id")
    conflicts = query(hq_db, "SELECT COUNT(*) FROM conflicts")[0][0]
    gaps_row = query(hq_db, "SELECT COALESCE(MAX(seq), 0) - COUNT(*) FROM events")[0][0]
    confirmed = set(history.confirmed)
    lost = sorted(confirmed - set(by_voucher))
    duplicated = (
        sum(n - 1 for n in by_voucher.values() if n > 1) + sum(n - 1 for n in by_event.values() if n > 1) + conflicts
    )
    unexpected = sorted(
        v for v in by_voucher if v not in confirmed and intents_at_hq.get(v) not in history.indeterminate
    )
    indeterminate_at_hq = sum(
        1 for v, intent in intents_at_hq.items() if v not in confirmed and intent in history.indeterminate
    )
    failed_at_hq = sorted(v for v, intent in intents_at_hq.items() if intent in history.failed)
    ledger_vouchers = {v for (v,) in query(ledger_db, "SELECT voucher_id FROM vouchers")}
    by_type, prize_vouchers = check_events(history, hq_db, ledger_db)
    hq_vouchers = set(by_voucher) | prize_vouchers  # redemptions, wheel prizes, birthday gifts
    return {
        "events_by_type": by_type,
        "lost": len(lost),
        "duplicated": duplicated,
        "unexpected": len(unexpected),
        "lost_ids": lost[:20],
        "unexpected_ids": unexpected[:20],
        "failed_but_at_hq": failed_at_hq[:20],
        "hq_redemptions": len(rows),
        "hq_events": query(hq_db, "SELECT COUNT(*) FROM events")[0][0],
        "hq_seq_gaps": gaps_row,
        "conflicts": conflicts,
        "indeterminate_at_hq": indeterminate_at_hq,
        "ledger_vouchers": len(ledger_vouchers),
        "ledger_vouchers_not_at_hq": len(ledger_vouchers - hq_vouchers),
        "hq_vouchers_not_in_ledger": len(hq_vouchers - ledger_vouchers),
    }


def event_key(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(key, loose key) of an event at HQ: the shopper confirms by key; an attempt that got no answer
    is known only by its loose key (the member, or the spin id the wheel showed before the spin)."""
    member = str(payload.get("member_id"))
    if kind == "checkin":
        return f"{member}/{payload.get('day')}", member
    if kind == "wheel_spin":
        return str(payload.get("spin_id")), str(payload.get("spin_id"))
    return member, member  # birthday_gift, pin_locked: once per member in a run


#: Each type's events in the kiosk's ledger (what it committed), by event id.
LEDGER_EVENT_IDS = {
    "checkin": "SELECT event_id FROM checkins",
    "wheel_spin": "SELECT event_id FROM wheel_spins",
    "birthday_gift": "SELECT event_id FROM birthday_gifts",
    "pin_locked": "SELECT lock_event_id FROM pin_failures WHERE lock_event_id IS NOT NULL",
}


def check_events(history: History, hq_db: Path, ledger_db: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The set check of each of OTHER_EVENTS against HQ's events table and the kiosk's ledger; also
    the voucher ids HQ holds from wheel prizes and birthday gifts."""
    by_type: dict[str, dict[str, Any]] = {}
    vouchers: set[str] = set()
    for kind in OTHER_EVENTS:
        keys: collections.Counter = collections.Counter()
        event_ids: collections.Counter = collections.Counter()
        loose_of: dict[str, str] = {}
        for event_id, payload in query(hq_db, "SELECT event_id, payload FROM events WHERE type = ?", (kind,)):
            body = json.loads(payload)
            key, loose = event_key(kind, body)
            keys[key] += 1
            event_ids[event_id] += 1
            loose_of[key] = loose
            voucher = body.get("voucher")
            if isinstance(voucher, dict) and voucher.get("voucher_id"):
                vouchers.add(str(voucher["voucher_id"]))
        confirmed = history.events_confirmed[kind]
        maybe = history.events_indeterminate[kind]
        lost = sorted(confirmed - set(keys))
        unexpected = sorted(k for k in keys if k not in confirmed and loose_of[k] not in maybe)
        ledger_ids = {row[0] for row in query(ledger_db, LEDGER_EVENT_IDS[kind])}
        by_type[kind] = {
            "confirmed": len(confirmed),
            "indeterminate": len(maybe),
            "at_hq": sum(keys.values()),
            "lost": len(lost),
            "duplicated": sum(n - 1 for n in keys.values() if n > 1) + sum(n - 1 for n in event_ids.values() if n > 1),
            "unexpected": len(unexpected),
            "indeterminate_at_hq": sum(1 for k in keys if k not in confirmed and loose_of[k] in maybe),
            "in_ledger": len(ledger_ids),
            "ledger_not_at_hq": len(ledger_ids - set(event_ids)),
            "lost_keys": lost[:10],
            "unexpected_keys": unexpected[:10],
        }
    return by_type, vouchers


def forgery_report(hq_db: Path) -> dict[str, Any]:
    """What HQ learnt from the kiosk about the forgeries: its command answers and security events.

    Both are lower bounds: the kiosk answers refusals at a limited rate and records a security
    event of each kind at most every ten minutes (`suppressed_since_last` counts the rest, once
    the next one is recorded).
    """
    answers: collections.Counter = collections.Counter()
    forged_applied = 0
    for status, reason, detail in query(hq_db, "SELECT status, reason, detail FROM push_acks WHERE type = 'command'"):
        answers[status if status == "applied" else f"{status}:{reason}"] += 1
        forged_applied += status == "applied" and str(detail).startswith(FORGED_ID_PREFIX)
    events: collections.Counter = collections.Counter()
    suppressed: collections.Counter = collections.Counter()
    for kind, payload in query(hq_db, "SELECT type, payload FROM events WHERE type LIKE 'security.%'"):
        events[kind] += 1
        detail = json.loads(payload).get("detail")
        if isinstance(detail, dict) and isinstance(detail.get("suppressed_since_last"), int):
            suppressed[kind] += detail["suppressed_since_last"]
    return {
        "forged_commands_applied": forged_applied,
        "command_answers_at_hq": dict(sorted(answers.items())),
        "security_events_at_hq": dict(sorted(events.items())),
        "security_events_suppressed_at_hq": dict(sorted(suppressed.items())),
    }


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


# --- run -------------------------------------------------------------------------------------------------------
def run(workdir: Path, profile: Profile, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    broker_dir = workdir / "broker"
    broker_dir.mkdir(parents=True)
    broker = Mosquitto(broker_dir)
    broker.start()
    kiosk_dir = workdir / "kiosk"
    kiosk_dir.mkdir()
    config = write_config(kiosk_dir, broker.port)
    device = yaml.safe_load(config.read_text(encoding="utf-8"))["device"]
    hq_key = hq_keys(kiosk_dir)
    ledger_db = kiosk_dir / "var" / "data" / "ledger.db"
    control_path = kiosk_dir / "control.sock"
    hq = HqProcess(workdir, broker.port, hq_key)
    hq.start()
    unit = KioskUnit(
        [sys.executable, "-m", "bench.chaos_kiosk", "run", "--config", str(config)],
        cwd=kiosk_dir,
        notify_path=kiosk_dir / "notify.sock",
        log_path=kiosk_dir / "kiosk.log",
        watchdog_s=profile.watchdog_s,
        env={
            "SDL_VIDEODRIVER": "dummy",
            "SDL_AUDIODRIVER": "dummy",
            "PYGAME_HIDE_SUPPORT_PROMPT": "1",
            "KIOSK_SIM_CONTROL": str(control_path),
            "PYTHONPATH": str(REPO),
        },
    )
    history, faults, watch = History(), FaultLog(), LinkWatch(FREEZE_NOTICE_BOUND_S)
    commander = HqCommander(
        host="127.0.0.1",
        port=broker.port,
        prefix=PREFIX,
        signing_key=load_private_key(hq_key),
        scope=Scope.device(device["id"]),
    )
    forger = Forger(
        host="127.0.0.1", port=broker.port, prefix=PREFIX, device_id=device["id"], store_id=device["store_id"]
    )
    t0 = time.monotonic()
    kiosk_code: int | None = None
    try:
        unit.start()
        if not unit.wait_ready(120):
            raise RuntimeError("the kiosk did not start")
        publish_members(workdir, kiosk_dir, broker.port, hq.db)
        wait_for(
            lambda: query(
                hq.db,
                "SELECT 1 FROM push_acks WHERE type='members' AND version=? AND status IN ('applied','current')",
                (SNAPSHOT_VERSION,),
            ),
            60,
            "the kiosk to apply HQ's member snapshot",
        )
        print(f"set-up done in {time.monotonic() - t0:.1f} s; workload and nemesis start", flush=True)

        commander.start(every_s=COMMAND_EVERY_S)
        forger.start()
        shopper = Shopper(unit, control_path, history, random.Random(rng.random()), watch)
        shopper.start()
        t_chaos = time.monotonic()
        nemesis = Nemesis(unit, broker, profile, random.Random(rng.random()), faults, t0, watch, forger)
        timelines = [
            threading.Thread(target=nemesis.run_timeline, args=(kinds, gaps), daemon=True)
            for kinds, gaps in (
                (KIOSK_FAULTS, profile.kiosk_gap_s),
                (BROKER_FAULTS, profile.gap_s),
                (FORGER_FAULTS, profile.forge_gap_s),
            )
        ]
        for thread in timelines:
            thread.start()
        for thread in timelines:
            thread.join()
        chaos_s = time.monotonic() - t_chaos
        commander.stop_sending()
        forger.stop()  # its retained commands stay on the broker through the drain
        shopper.stop_event.set()
        shopper.join(timeout=60)
        print(
            f"nemesis done after {chaos_s:.0f} s: {dict(faults.counts)}; {len(history.confirmed)} confirmed", flush=True
        )

        # Healthy again: broker up (it is), kiosk up; the outbox must drain to HQ.
        unit.wait_ready(90)
        t_drain = time.monotonic()
        wait_for(
            lambda: query(ledger_db, "SELECT COUNT(*) FROM outbox")[0][0] == 0,
            profile.drain_timeout_s,
            "the kiosk's outbox to drain",
        )
        drain_s = time.monotonic() - t_drain
        final_telemetry = commander.final_telemetry()
    finally:
        commander.stop()
        forger.stop()
        kiosk_code = unit.stop()
        hq_code = hq.stop()
        broker.stop()
    outbox_after = query(ledger_db, "SELECT COUNT(*) FROM outbox")[0][0]
    result = check(history, hq.db, ledger_db)
    reported = commander.tally.totals()
    by_type = result["events_by_type"]
    redemption = {"confirmed": len(history.confirmed), **{k: result[k] for k in ("lost", "duplicated", "unexpected")}}

    def per_type(name: str) -> dict[str, int]:
        return {"redemption": redemption[name], **{kind: by_type[kind][name] for kind in OTHER_EVENTS}}

    figures: dict[str, Any] = {
        "confirmed": len(history.confirmed),
        "lost": sum(per_type("lost").values()),
        "duplicated": sum(per_type("duplicated").values()),
        "unexpected": sum(per_type("unexpected").values()),
        "confirmed_by_type": per_type("confirmed"),
        "lost_by_type": per_type("lost"),
        "duplicated_by_type": per_type("duplicated"),
        "unexpected_by_type": per_type("unexpected"),
        "ledger_events_not_at_hq": sum(by_type[kind]["ledger_not_at_hq"] for kind in OTHER_EVENTS),
        "events_failed": dict(sorted(history.events_failed.items())),
        "faults": sum(faults.counts.values()),
        "indeterminate": len(history.indeterminate),
        "failed": len(history.failed),
        "faults_by_kind": dict(sorted(faults.counts.items())),
        "watchdog_kills": unit.counters.watchdog_kills,
        "kiosk_starts": unit.counters.starts,
        "unexpected_exits": unit.counters.unexpected_exits,
        "start_timeouts": unit.counters.start_timeouts,
        "attempts": history.attempts,
        "offline_confirmed": history.offline_confirmed,
        "resumed_on_tap": history.resumed,
        "shopper_errors": shopper.errors,
        "screens_after_tap": dict(history.screens),
        "failed_reasons": dict(collections.Counter(history.failed.values())),
        "freezes_noticed": watch.noticed,
        "online_while_frozen": watch.online_while_frozen,
        "freeze_noticed_after_s": watch.noticed_after_s,
        "confirmed_while_frozen": watch.confirmed_while_frozen,
        "outbox_after": outbox_after,
        "ledger_integrity": integrity(ledger_db),
        "hq_integrity": integrity(hq.db),
        "kiosk_exit_on_sigterm": kiosk_code,
        "hq_exit": hq_code,
        "chaos_s": round(chaos_s, 1),
        "drain_s": round(drain_s, 1),
        "startup_s_max": round(max(unit.counters.startup_s), 2) if unit.counters.startup_s else None,
        "watchdog_s": profile.watchdog_s,
        "seed": seed,
        **{k: v for k, v in result.items() if k not in ("lost", "duplicated", "unexpected")},
        **forger.figures(),
        "genuine_commands_sent": commander.sent,
        "kiosk_unverified_acks": reported.get("unverified_acks", 0),
        "kiosk_refused_commands": reported.get("refused_commands", 0),
        "kiosk_dropped_inbound": reported.get("dropped_inbound", 0),
        "kiosk_push_acks_suppressed": reported.get("push_acks_suppressed", 0),
        "kiosk_security_events_suppressed": reported.get("security_events_suppressed", 0),
        "telemetry_messages": commander.tally.messages,
        "final_telemetry": final_telemetry,
        **forgery_report(hq.db),
        "fault_timeline": faults.events,
    }
    return figures


def passed(figures: dict[str, Any]) -> list[str]:
    """The checks that failed (empty = all passed)."""
    problems = []
    for name in (
        "lost",
        "duplicated",
        "unexpected",
        "outbox_after",
        "ledger_events_not_at_hq",
        "ledger_vouchers_not_at_hq",
        "hq_vouchers_not_in_ledger",
        "hq_seq_gaps",
        "conflicts",
        "online_while_frozen",
        "forged_commands_applied",
    ):
        if figures[name]:
            problems.append(f"{name} = {figures[name]}")
    if (
        figures["forged_acks_sent"]
        and not figures["kiosk_unverified_acks"]
        and not figures["security_events_at_hq"].get("security.unverified_ack")
    ):
        problems.append("the kiosk never reported a forged ack")
    if figures["failed_but_at_hq"]:
        problems.append(f"failed redemptions at HQ: {figures['failed_but_at_hq']}")
    for name in ("ledger_integrity", "hq_integrity"):
        if figures[name] != "ok":
            problems.append(f"{name}: {figures[name]}")
    if figures["unexpected_exits"]:
        problems.append(f"the kiosk exited on its own: {figures['unexpected_exits']}")
    if figures["watchdog_kills"] < figures["faults_by_kind"].get("pause_kiosk", 0):
        problems.append("a stopped kiosk was not caught by the watchdog")
    if figures["kiosk_exit_on_sigterm"] != 0:
        problems.append(f"kiosk exited {figures['kiosk_exit_on_sigterm']} on SIGTERM")
    if figures["confirmed"] == 0:
        problems.append("no redemption was confirmed: the workload did not run")
    for kind in ("checkin", "wheel_spin", "birthday_gift"):
        if not figures["confirmed_by_type"][kind]:
            problems.append(f"no {kind} was confirmed: the workload did not make one")
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short run for CI: 3 faults of each kind, short partitions and freezes"
    )
    parser.add_argument("--faults-per-kind", type=int, help="faults of each kind (default 5; quick 3)")
    parser.add_argument(
        "--partition-s",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="how long the broker stays down (default 60 120; quick 4 6)",
    )
    parser.add_argument(
        "--freeze-s",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="how long the broker stays frozen (default 20 60; quick 12 16)",
    )
    parser.add_argument("--watchdog-s", type=float, help="WatchdogSec given to the kiosk (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="do not delete the temporary directory")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("KIOSK_BENCH_QUICK") == "1"
    profile = QUICK if quick else FULL
    overrides = {
        "faults_per_kind": args.faults_per_kind,
        "watchdog_s": args.watchdog_s,
        "partition_s": tuple(args.partition_s) if args.partition_s else None,
        "freeze_s": tuple(args.freeze_s) if args.freeze_s else None,
    }
    profile = Profile(**{**profile.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    if (
        profile.faults_per_kind < 1
        or profile.watchdog_s <= 0
        or min(profile.partition_s) < 0
        or min(profile.freeze_s) < 0
    ):
        parser.error("--faults-per-kind must be at least 1, --watchdog-s positive, partitions and freezes not negative")
    args.profile = profile
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    if not args.verbose:  # the forger's and HQ's clients lose the broker with every broker fault
        logging.getLogger("sync.mqtt_client").setLevel(logging.ERROR)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    print("machine: " + ", ".join(f"{k} {v}" for k, v in describe().items()), flush=True)
    print(f"working in {workdir}", flush=True)
    ok = False
    try:
        figures = run(workdir, args.profile, args.seed)
        problems = passed(figures)
        ok = not problems
        print("checks: " + ("all passed" if ok else "FAILED: " + "; ".join(problems)))
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        if ok and not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"kept {workdir} for inspection", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
