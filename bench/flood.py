"""Memory under a flood: the real kiosk process, flooded through the broker on every topic it hears.

`python -m bench.flood [--quick] [--oversized N] [--oversized-mib M] [--small N] [--qos Q]` from the
repository root.

Parts, each its own process: Mosquitto (tests.sync.broker: no persistence and, on purpose, no
`message_size_limit`, so what protects the kiosk is its own MQTT 5 Maximum Packet Size and its
inbound gate, sync.router), `kiosk hq listen` signing its acks with HQ's key, and the kiosk
(`kiosk run` in simulation, as bench.chaos starts it, trusting that key). The flooder is a client
with HQ's broker rights but not HQ's key, like bench.forger's.

Phases, one after another; before each the kiosk's peak RSS is reset (`/proc/PID/clear_refs` 5)
and during it VmRSS is sampled every 10 ms; a phase ends when the kiosk has applied a signed
`request_telemetry` HQ sent after the flood (its push-ack, recorded by HQ: it handles inbound
messages in order, so by then it has been through the flood), or after `--settle-s` x 3:
1. idle: the kiosk online, nothing sent (`rss_mb_idle`);
2. small, in three kinds of a third of `--small` (default 100,000) each, published as fast as the
   flooder can: `commands` (resync, unsigned / another key / another key under HQ's key id),
   `acks` (event acks forged the same three ways), `documents` (junk: not JSON, cut short, and
   envelopes unsigned or signed with another key);
3. oversized: `--oversized` messages of `--oversized-mib` MiB (default 20 x 50 MiB), retained and
   not, on the kiosk's document, ack and cmd topics: the broker must never hand them over.
Then the check that the kiosk still works: alive, a member snapshot genuinely signed by HQ and
published after the flood is applied (HQ's record of the kiosk's push-ack), its screen says
online. Then the kiosk is restarted (a reconnect: does that bring back whatever the flood broke?)
for the last phase, on a fresh heap:
4. at_limit: the most each message can cost, just under the gate's limit per kind: documents of
   max_push_bytes - 1 KiB holding a big member list (parsed, then refused on the signature), acks
   of 127 KiB and commands of 4 KiB. Reported apart (`rss_mb_at_limit`), not part of the target.

`rss_mb_under_flood` = the highest peak of phases 2 and 3 (VmHWM and sampled VmRSS); target < 100.
Final line: JSON with rss_mb_under_flood, rss_mb_idle, the counts, whether the kiosk survived,
and its own `link` counters from its telemetry. Exit status 1 if it did not survive.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.chaos import SNAPSHOT_VERSION, HqProcess, hq_keys, publish_members, query, wait_for, write_config
from bench.fleet import Broker
from bench.forger import FORGERY_KINDS, HqCommander, forge, forged_ack, forged_command
from bench.kiosk import BenchError, MeasuredProcess
from bench.machine import describe
from bench.procstat import ProcessGone, memory_mb
from bench.supervisor import kiosk_argv
from sync.acks import MAX_ACK_BYTES, AckedEvent
from sync.commands import MAX_COMMAND_BYTES
from sync.envelope import sign_envelope
from sync.inbound import DEFAULT_MAX_PUSH_BYTES
from sync.keys import load_private_key
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import dumps
from sync.signing import key_id
from sync.topics import DOCUMENT_TOPICS, HqTopics, Scope

_LOG = logging.getLogger("bench.flood")

PREFIX = "kiosk/v1"
TARGET_RSS_MB = 100.0
SAMPLE_S = 0.01
MIB = 1024 * 1024
#: No kiosk subscribes to it: the flooder's "you have it all" question to the broker.
MARKER_TOPIC = f"{PREFIX}/flood/marker"


# --- measuring ------------------------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """VmRSS of `pid` every `SAMPLE_S`; `peak` since the last `reset`."""

    def __init__(self, pid: int):
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.samples = 0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_S):
            try:
                rss = memory_mb(self.pid)["VmRSS"]
            except (ProcessGone, KeyError):
                return
            with self._lock:
                self.peak = max(self.peak, rss)
                self.samples += 1

    def reset(self) -> None:
        with self._lock:
            self.peak = 0.0

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def reset_peak(pid: int) -> bool:
    """VmHWM back to the current RSS (proc(5): writing 5 to clear_refs); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


# --- what the flooder sends --------------------------------------------------------------------------------
class Payloads:
    """Messages for one kiosk's topics, forged without HQ's key (HQ's key id is public)."""

    def __init__(self, device_id: str, store_id: str, hq_key_id: str):
        self.topics = HqTopics(PREFIX)
        self.device_id = device_id
        self.scopes = (Scope.fleet(), Scope.store(store_id), Scope.device(device_id))
        self.key = Ed25519PrivateKey.generate()
        self.hq_key_id = hq_key_id
        self.ack_topic = self.topics.ack(device_id)

    def document_topics(self) -> list[tuple[str, str, Scope]]:
        """(topic, doc type, scope) for every document topic the kiosk subscribes to."""
        return [
            (self.topics.document(doc_type, scope), doc_type, scope)
            for scope in self.scopes
            for doc_type in DOCUMENT_TOPICS
        ]

    def every_topic(self) -> list[str]:
        """Document, ack and command topics, mixed so that a short list has some of each."""
        commands = [self.topics.command(scope) for scope in self.scopes]
        mixed: list[str] = []
        for i, (topic, _, _) in enumerate(self.document_topics()):
            mixed.append(topic)
            if i < len(commands):
                mixed += [self.ack_topic, commands[i]]
        return mixed

    def command(self, kind: str, scope: Scope) -> bytes:
        return dumps(forged_command(kind, self.key, self.hq_key_id, scope))

    def ack(self, kind: str, seq: int) -> bytes:
        events = [AckedEvent(seq, str(uuid.uuid4()))]
        return dumps(forged_ack(kind, self.key, self.hq_key_id, self.device_id, events))

    def envelope(self, kind: str, doc_type: str, scope: Scope, payload: dict[str, Any]) -> bytes:
        now = dt.datetime.now(dt.UTC)
        signed = sign_envelope(
            self.key,
            doc_type=doc_type,
            scope=scope,
            version=10**9,
            issued_at=now,
            not_after=now + dt.timedelta(days=1),
            payload=payload,
        )
        return dumps(forge(kind, signed, self.hq_key_id))

    def junk_documents(self) -> Iterator[tuple[str, bytes]]:
        """Endless junk for the document topics: not JSON, cut short, forged envelopes."""
        topics = itertools.cycle(self.document_topics())
        shapes = itertools.cycle(("binary", "cut_short", *FORGERY_KINDS))
        for n in itertools.count():
            topic, doc_type, scope = next(topics)
            shape = next(shapes)
            if shape == "binary":
                body = os.urandom(64 + n % 512)
            elif shape == "cut_short":
                body = self.envelope("unknown_key", doc_type, scope, {"n": n})[: 40 + n % 200]
            else:
                body = self.envelope(shape, doc_type, scope, {"n": n, "filler": "x" * (n % 300)})
            yield topic, body

    def big_members_envelope(self, size: int) -> bytes:
        """A members envelope of about `size` bytes: many small members, HQ's key id, not HQ's signature.

        Refused on the signature, but only after it was parsed and put in canonical form: the
        costliest path a message of this size can take before it is refused.
        """
        member = {"member_id": "M000000", "name": "张三明", "spend_fen": 0, "cards": [], "lots": []}
        one = len(dumps(member)) + 1
        count = max(1, (size - 600) // one)
        members = [{**member, "member_id": f"M{i:06d}"} for i in range(count)]
        scope = self.scopes[2]
        body = self.envelope("bad_signature", "members", scope, {"members": members, "acknowledged_event_ids": []})
        while len(body) > size and members:  # trim the estimate down to the limit
            members = members[: len(members) - max(1, (len(body) - size) // one + 1)]
            body = self.envelope("bad_signature", "members", scope, {"members": members, "acknowledged_event_ids": []})
        return body


class Flooder:
    """An MQTT client with HQ's broker rights; publishes and waits for the broker to have it all."""

    def __init__(self, host: str, port: int, qos: int):
        self.qos = qos
        self.client = MqttClient(
            ConnectionSettings(
                client_id="flooder",
                host=host,
                port=port,
                persistent_session=False,
                max_inflight=1000,
                keepalive_s=60,
            )
        )

    def start(self) -> None:
        self.client.start()
        if not self.client.wait_connected(10):
            raise BenchError("the flooder could not reach the broker")

    def stop(self) -> None:
        self.client.stop()

    def send(self, messages: list[tuple[str, bytes, bool]]) -> float:
        """Publish all (topic, payload, retain) at the flood's QoS as fast as paho takes them;
        seconds until the broker has them all."""
        start = time.monotonic()
        for topic, payload, retain in messages:
            if len(payload) > MIB:  # one at a time: paho would hold every packet in memory at once
                self.client.publish_and_wait(topic, payload, qos=self.qos, retain=retain, timeout=120)
            else:
                self.client.publish(topic, payload, qos=self.qos, retain=retain)
        # The broker reads a connection in order: once it acknowledges this, it has read the rest.
        self.client.publish_and_wait(MARKER_TOPIC, b"", qos=1, timeout=600)
        return time.monotonic() - start


# --- the run -------------------------------------------------------------------------------------------
class Kiosk:
    """One kiosk process, its RSS sampler, and HQ's command client to ask it whether it is through."""

    def __init__(self, proc: MeasuredProcess, commander: HqCommander, sampler: RssSampler, hq_db: Path):
        self.proc = proc
        self.hq_db = hq_db
        self.commander = commander
        self.sampler = sampler
        self.startup_s = 0.0

    def stop(self) -> int:
        if self.sampler.is_alive():
            self.sampler.stop()
        return self.proc.stop()

    def through(self, timeout_s: float, attempts: int = 3) -> bool:
        """HQ's `request_telemetry` queues behind the flood: once the kiosk says it applied it
        (its push-ack, at HQ), it has been through everything before it. A full inbound queue
        drops the command like any other message, so ask again."""
        for _ in range(attempts):
            command_id = self.commander.send()
            if command_id is not None and command_applied(self.hq_db, command_id, timeout_s):
                return True
        return False

    def online(self) -> bool:
        return bool(self.proc.send(cmd="state").get("online"))

    def phase(
        self, name: str, flooder: Flooder | None, messages: list[tuple[str, bytes, bool]], settle_s: float
    ) -> dict[str, Any]:
        """Send `messages`, wait until the kiosk has been through them; its memory meanwhile.

        Without a flooder: `settle_s` of quiet (the idle figure).
        """
        pid = self.proc.pid
        if not reset_peak(pid):
            raise BenchError(f"cannot reset the peak RSS of {pid} (/proc/{pid}/clear_refs)")
        self.sampler.reset()
        start = time.monotonic()
        publish_s, answered = 0.0, True
        if flooder is None:
            time.sleep(settle_s)
        else:
            publish_s = flooder.send(messages)
            answered = self.through(settle_s)
        handled_s = time.monotonic() - start
        memory = memory_mb(pid)
        peak = max(memory["VmHWM"], self.sampler.peak)
        result = {
            "messages": len(messages),
            "bytes_mib": round(sum(len(p) for _, p, _ in messages) / MIB, 1),
            "publish_s": round(publish_s, 2),
            "handled_s": round(handled_s, 2),
            "answered": answered,
            "rss_mb_peak": round(peak, 1),
            "rss_mb_peak_sampled": round(self.sampler.peak, 1),
            "rss_mb_after": round(memory["VmRSS"], 1),
        }
        print(f"{name}: {result}", flush=True)
        return result


def oversized_messages(payloads: Payloads, count: int, size: int) -> list[tuple[str, bytes, bool]]:
    body = b"{" + b" " * (size - 2) + b"}"
    topics = itertools.cycle(payloads.every_topic())
    return [(next(topics), body, i % 2 == 0) for i in range(count)]


def small_messages(payloads: Payloads, kind: str, count: int) -> list[tuple[str, bytes, bool]]:
    # Signing 30,000 messages takes longer than sending them: a few hundred variants, in turn.
    distinct = min(count, 600)
    if kind == "commands":
        pairs = itertools.islice(itertools.cycle(itertools.product(FORGERY_KINDS, payloads.scopes)), distinct)
        variants = [(payloads.topics.command(scope), payloads.command(forgery, scope)) for forgery, scope in pairs]
    elif kind == "acks":
        variants = [
            (payloads.ack_topic, payloads.ack(forgery, seq + 1))
            for seq, forgery in zip(range(distinct), itertools.cycle(FORGERY_KINDS))
        ]
    else:
        variants = list(itertools.islice(payloads.junk_documents(), distinct))
    return [(topic, body, False) for topic, body in itertools.islice(itertools.cycle(variants), count)]


def padded(body: bytes, size: int) -> bytes:
    """`body` (a JSON object) with a `filler` field that brings it to `size` bytes."""
    filler = max(0, size - len(body) - len(b',"filler":""'))
    return body[:-1] + b',"filler":"' + b"x" * filler + b'"}'


def at_limit_messages(
    payloads: Payloads, documents: int, acks: int, commands: int, max_push_bytes: int
) -> list[tuple[str, bytes, bool]]:
    device = payloads.scopes[2]
    big = payloads.big_members_envelope(max_push_bytes - 1024)
    members_topic = payloads.topics.document("members", device)
    ack = padded(payloads.ack("bad_signature", 1), MAX_ACK_BYTES - 1024)
    command = padded(payloads.command("bad_signature", device), MAX_COMMAND_BYTES - 64)
    messages = [(members_topic, big, False)] * documents
    messages += [(payloads.ack_topic, ack, False)] * acks
    messages += [(payloads.topics.command(device), command, False)] * commands
    return messages


def log_counts(logs: list[Path]) -> dict[str, int]:
    """What the kiosk's processes logged (plain format: "LEVEL logger: message")."""
    lines = [line for log in logs if log.exists() for line in log.read_text(errors="replace").splitlines()]
    return {
        "kiosk_log_lines": len(lines),
        "kiosk_log_warnings": sum(line.startswith("WARNING") for line in lines),
        "kiosk_log_errors": sum(line.startswith(("ERROR", "CRITICAL", "Traceback")) for line in lines),
        # unexpected ones: the clean disconnect at the end is logged at INFO
        "kiosk_disconnects": sum(line.startswith("WARNING") and "disconnected from broker" in line for line in lines),
    }


def command_applied(hq_db: Path, command_id: str, timeout_s: float) -> bool:
    """Did the kiosk tell HQ it applied command `command_id` (within `timeout_s`)?"""
    try:
        wait_for(
            lambda: query(
                hq_db,
                "SELECT 1 FROM push_acks WHERE type='command' AND status='applied' AND detail=?",
                (command_id,),
            ),
            timeout_s,
            f"the kiosk to apply command {command_id}",
            interval_s=0.05,
        )
    except TimeoutError:
        return False
    return True


def snapshot_applied(hq_db: Path, timeout_s: float) -> bool:
    """Did the kiosk tell HQ it applied the member snapshot HQ published last (within `timeout_s`)?"""
    try:
        wait_for(
            lambda: query(
                hq_db,
                "SELECT 1 FROM push_acks WHERE type='members' AND version=? AND status='applied'",
                (SNAPSHOT_VERSION,),
            ),
            timeout_s,
            "the kiosk to apply HQ's member snapshot",
        )
    except TimeoutError:
        return False
    return True


def start_kiosk(config: Path, commander: HqCommander, hq_db: Path) -> Kiosk:
    """`kiosk run` from `config`'s directory, once it is ready and online."""
    proc = MeasuredProcess("kiosk", kiosk_argv(config), config.parent, cwd=config.parent)
    kiosk = Kiosk(proc, commander, RssSampler(proc.pid), hq_db)
    try:
        kiosk.startup_s = proc.wait_ready()
        kiosk.sampler.start()
        wait_for(kiosk.online, 60, "the kiosk to come online")
    except BaseException:
        kiosk.stop()
        raise
    return kiosk


def run(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    broker_dir = workdir / "broker"
    broker_dir.mkdir(parents=True)
    broker = Broker(broker_dir)
    broker.start()
    kiosk_dir = workdir / "kiosk"
    kiosk_dir.mkdir()
    config = write_config(kiosk_dir, broker.port)
    device = yaml.safe_load(config.read_text(encoding="utf-8"))["device"]
    hq_key_path = hq_keys(kiosk_dir)
    hq_key = load_private_key(hq_key_path)
    hq = HqProcess(workdir, broker.port, hq_key_path)
    hq.start()
    commander = HqCommander(
        host="127.0.0.1", port=broker.port, prefix=PREFIX, signing_key=hq_key, scope=Scope.device(device["id"])
    )
    flooder = Flooder("127.0.0.1", broker.port, args.qos)
    payloads = Payloads(device["id"], device["store_id"], key_id(hq_key.public_key()))
    broker_peak = RssSampler(broker.pid)
    phases: dict[str, dict[str, Any]] = {}
    survived: dict[str, Any] = {}
    logs: list[Path] = []
    kiosk: Kiosk | None = None
    try:
        broker_peak.start()
        commander.start(every_s=None)
        flooder.start()
        kiosk = start_kiosk(config, commander, hq.db)
        logs.append(kiosk.proc.log_path)
        print(f"kiosk online {kiosk.startup_s:.1f} s after its start; flooding", flush=True)
        phases["idle"] = kiosk.phase("idle", None, [], args.idle_s)
        third = args.small // 3
        for kind, count in (("commands", third), ("acks", third), ("documents", args.small - 2 * third)):
            phases[kind] = kiosk.phase(kind, flooder, small_messages(payloads, kind, count), args.settle_s)
        # Last of the flood: on Mosquitto 2.0.11 each message the broker drops for being over the
        # kiosk's Maximum Packet Size keeps one of the session's inflight slots
        # (max_inflight_messages, 20); with all of them gone nothing QoS 1 reaches the kiosk
        # until it reconnects.
        oversized = oversized_messages(payloads, args.oversized, int(args.oversized_mib * MIB))
        phases["oversized"] = kiosk.phase("oversized", flooder, oversized, args.settle_s)

        # Still working? A genuine document published after the flood is applied, the screen is online.
        t_recover = time.monotonic()
        publish_members(workdir, kiosk_dir, broker.port, hq.db)
        survived["document_applied_after_flood"] = snapshot_applied(hq.db, args.settle_s)
        survived["recovery_s"] = round(time.monotonic() - t_recover, 2)
        survived["online_after_flood"] = kiosk.online()
        survived["command_applied_after_flood"] = kiosk.through(5, attempts=1)
        survived["alive"] = kiosk.proc.alive()
        survived["kiosk_exit_on_sigterm"] = kiosk.stop()
        kiosk = None

        # A fresh process (a reconnect, and a heap without the flood's leftovers) for the last
        # phase: the most a single message of each kind can cost.
        kiosk = start_kiosk(config, commander, hq.db)
        logs.append(kiosk.proc.log_path)
        survived["document_applied_after_kiosk_restart"] = snapshot_applied(hq.db, args.settle_s)
        phases["idle_restarted"] = kiosk.phase("idle_restarted", None, [], args.idle_s)
        limit = at_limit_messages(
            payloads, args.limit_documents, args.limit_acks, args.limit_commands, DEFAULT_MAX_PUSH_BYTES
        )
        phases["at_limit"] = kiosk.phase("at_limit", flooder, limit, args.settle_s)
        survived["telemetry_at_end"] = commander.final_telemetry(timeout_s=5, attempts=2)
    finally:
        broker_peak.stop()
        flooder.stop()
        commander.stop()
        if kiosk is not None:
            kiosk.stop()
        hq.stop()
        broker.stop()
    flood = ("commands", "acks", "documents", "oversized")
    under_flood = max(phases[name]["rss_mb_peak"] for name in flood)
    small = [phases[name] for name in ("commands", "acks", "documents")]
    return {
        "rss_mb_under_flood": under_flood,
        "rss_mb_idle": phases["idle"]["rss_mb_after"],
        "rss_mb_at_limit": phases["at_limit"]["rss_mb_peak"],
        "target_rss_mb": TARGET_RSS_MB,
        "target_met": under_flood < TARGET_RSS_MB,
        "worst_phase": max(flood, key=lambda name: phases[name]["rss_mb_peak"]),
        **survived,
        "inbound_stalled_after": [name for name, p in phases.items() if not p["answered"]],
        "oversized_sent": phases["oversized"]["messages"],
        "oversized_mib_each": args.oversized_mib,
        "small_sent": sum(p["messages"] for p in small),
        "small_publish_s": round(sum(p["publish_s"] for p in small), 2),
        "small_handled_s": round(sum(p["handled_s"] for p in small), 2),
        "at_limit_sent": phases["at_limit"]["messages"],
        "qos": args.qos,
        "rss_mb_peak_by_phase": {name: p["rss_mb_peak"] for name, p in phases.items()},
        "rss_mb_after_by_phase": {name: p["rss_mb_after"] for name, p in phases.items()},
        "handled_s_by_phase": {name: p["handled_s"] for name, p in phases.items()},
        "kiosk_link_counters": commander.tally.totals(),
        "broker_rss_mb_peak": round(broker_peak.peak, 1),
        **log_counts(logs),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 3 x 8 MiB, 3,000 small, a few at the limit")
    parser.add_argument("--oversized", type=int, help="oversized messages (default 20; quick 3)")
    parser.add_argument("--oversized-mib", type=float, help="MiB each (default 50; quick 8)")
    parser.add_argument("--small", type=int, help="small messages, a third of each kind (default 100000; quick 3000)")
    parser.add_argument("--limit-documents", type=int, help="documents at the size limit (default 20; quick 2)")
    parser.add_argument("--limit-acks", type=int, help="acks at the size limit (default 100; quick 5)")
    parser.add_argument("--limit-commands", type=int, help="commands at the size limit (default 1000; quick 20)")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1, help="QoS of the flood (default 1)")
    parser.add_argument("--settle-s", type=float, default=30.0, help="wait for the kiosk's answer, per attempt")
    parser.add_argument("--idle-s", type=float, help="quiet before the flood (default 10; quick 3)")
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temporary directory)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("KIOSK_BENCH_QUICK") == "1"
    defaults = {
        "oversized": (20, 3),
        "oversized_mib": (50, 8),
        "small": (100_000, 3_000),
        "limit_documents": (20, 2),
        "limit_acks": (100, 5),
        "limit_commands": (1000, 20),
    }
    for name, (full, reduced) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, reduced if quick else full)
    if args.idle_s is None:
        args.idle_s = 3.0 if quick else 10.0
    if args.oversized_mib * MIB <= DEFAULT_MAX_PUSH_BYTES or min(args.oversized, args.small) < 3:
        parser.error("--oversized-mib must exceed the kiosk's 4 MiB limit; --oversized and --small at least 3")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-flood-"))
    print("machine: " + ", ".join(f"{k} {v}" for k, v in describe().items()), flush=True)
    try:
        figures = run(workdir, args)
    except BenchError as exc:
        print(f"bench.flood: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    works = figures["alive"] and figures["document_applied_after_flood"] and figures["online_after_flood"]
    verdict = "met" if figures["target_met"] else "MISSED"
    print(
        f"kiosk {'survived' if works else 'did NOT survive'} the flood; peak RSS {figures['rss_mb_under_flood']} MB "
        f"(target < {TARGET_RSS_MB:.0f}: {verdict}, worst phase: {figures['worst_phase']})"
    )
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if works else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
