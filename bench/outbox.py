"""`python -m bench.outbox`: how fast the HQ link drains the outbox, next to raw paho.

Same run, same local Mosquitto (started here on a free loopback port, persistence off):
1. raw paho: one client publishes N messages at QoS 1 and waits for every PUBACK (the ceiling);
2. drain: N ledger events through `HqLink` -> broker -> `kiosk hq listen`'s listener (SQLite,
   dedup by (device, seq)) -> application-level ack -> deleted from the real Ledger's outbox;
3. backlog: 100,000 events waiting in the outbox (a long outage), drained the same way.
The raw loop uses paho directly on purpose: it is the baseline our wrapper is measured against.
Final line: JSON with drain_events_per_s, raw_paho_per_s, ratio, backlog_100k_s.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "bench/kiosk"
WINDOW = 1000


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)

    def monotonic(self) -> float:
        return time.monotonic()


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\npersistence false\nallow_anonymous true\n"
        f"max_queued_messages 1000000\nlistener {port} 127.0.0.1\n"
    )
    proc = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def raw_paho(port: int, count: int, payload: bytes) -> float:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    infos = [client.publish(f"{PREFIX}/kiosk/RAW/events", payload, qos=1) for _ in range(count)]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def seed(ledger, count: int) -> None:
    # Bulk seeding through the ledger's own outbox writer in one transaction: redemptions one by
    # one (fsync each) would measure the disk, not the link.
    from kiosk.ledger import db, outbox

    now = dt.datetime.now(TZ)
    with db.transaction(ledger.conn):
        for i in range(count):
            outbox.append(
                ledger.conn,
                event_id=str(uuid.uuid4()),
                type="redemption",
                payload={
                    "device_id": "K001",
                    "member_id": f"M{i % 500:04d}",
                    "reward_id": "off-5",
                    "points": 500,
                    "voucher_id": f"V{i}",
                },
                created_at=now,
                offline=False,
            )


def drain(folder: Path, port: int, count: int, name: str) -> tuple[float, int]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.ledger import Ledger, OfflineLimits
    from sync.hq.store import HqStore
    from sync.keys import generate_keypair, load_private_key
    from sync.link import HqLink

    clock = Clock()

    def open_ledger() -> Ledger:
        return Ledger.open(
            folder / name / "ledger.db",
            device_id="K001",
            clock=clock,
            tz=TZ,
            voucher_key=Ed25519PrivateKey.generate(),
            offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=10),
        )

    ledger = open_ledger()
    hq_key = folder / name / "hq_signing.key"
    generate_keypair(hq_key, folder / name / "hq_signing.pub", overwrite=True)
    # HQ runs in its own process, as it would on its own machine (and off this one's GIL).
    hq = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.outbox",
            "--listener",
            str(folder / name / "hq.sqlite"),
            str(port),
            f"hq-{name}",
            str(hq_key),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert hq.stdout is not None and hq.stdout.readline().strip() == "ready"
    link = HqLink(
        device_id="K001",
        store_id="S01",
        host="127.0.0.1",
        port=port,
        tls=None,
        username=None,
        password=None,
        keepalive_s=30,
        topic_prefix=PREFIX,
        hq_public_keys=[load_private_key(hq_key).public_key()],  # acks are signed by HQ
        ledger=ledger,
        telemetry_source=dict,
        clock=clock,
        drain_rate_per_s=None,
        software_version="bench",
        state_path=folder / name / "sync-state.sqlite",
        window=WINDOW,
    )
    link.start()
    while not link.online:  # like the raw loop, the clock starts on a connected client
        time.sleep(0.01)
    seeder = open_ledger()  # its own connection: the link's worker is using `ledger`
    seed(seeder, count)  # events appear at once, as a backlog does when the link comes back
    seeder.close()
    start = time.perf_counter()
    link.notify_outbox()
    while ledger.outbox_depth() > 0:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    link.stop()
    hq.communicate("stop\n", timeout=30)
    stored = HqStore(folder / name / "hq.sqlite").event_count("K001")
    ledger.close()
    return elapsed, stored


def run_listener(db: str, port: str, client_id: str, key_path: str) -> int:
    from sync.hq.listener import HqListener
    from sync.keys import load_private_key

    listener = HqListener(
        store_path=Path(db),
        signing_key=load_private_key(Path(key_path)),
        prefix=PREFIX,
        host="127.0.0.1",
        port=int(port),
        client_id=client_id,
    )
    listener.start()
    if not listener.wait_connected(10):
        return 1
    print("ready", flush=True)
    sys.stdin.readline()  # the parent writes a line (or closes stdin) when the drain is done
    listener.stop()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--listener"]:
        return run_listener(*argv[1:5])
    quick = "--quick" in argv
    count = 5_000 if quick else 20_000
    backlog = 100_000
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            sample = json.dumps(
                {
                    "v": 1,
                    "device_id": "K001",
                    "seq": 1,
                    "event_id": str(uuid.uuid4()),
                    "type": "redemption",
                    "created_at": Clock().now().isoformat(),
                    "offline": False,
                    "historical": False,
                    "payload": {"member_id": "M0001", "reward_id": "off-5"},
                }
            ).encode()
            raw = raw_paho(port, count, sample)
            print(f"raw paho QoS 1 publish loop: {count} messages, {raw:,.0f} msg/s", flush=True)
            elapsed, stored = drain(folder, port, count, "drain")
            if stored != count:
                raise SystemExit(f"HQ stored {stored} events, expected {count}")
            rate = count / elapsed
            print(
                f"outbox drain with HQ acks: {count} events in {elapsed:.2f} s, {rate:,.0f} events/s "
                f"({rate / raw:.2f} x raw paho)",
                flush=True,
            )
            backlog_s, stored = drain(folder, port, backlog, "backlog")
            if stored != backlog:
                raise SystemExit(f"HQ stored {stored} of the {backlog} backlog events")
            print(
                f"backlog of {backlog} events drained in {backlog_s:.1f} s ({backlog / backlog_s:,.0f} events/s)",
                flush=True,
            )
        finally:
            broker.terminate()
            broker.wait(10)
    print(
        json.dumps(
            {
                "drain_events_per_s": round(rate),
                "raw_paho_per_s": round(raw),
                "ratio": round(rate / raw, 2),
                "backlog_100k_s": round(backlog_s, 1),
                "events": count,
                "window": WINDOW,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
