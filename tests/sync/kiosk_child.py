"""A kiosk's HQ link in a child process, so a test can SIGKILL it mid-publish.

Usage: python -m tests.sync.kiosk_child DATA_DIR HOST PORT DEVICE_ID HQ_PUBLIC_KEY RATE
RATE 0 = unlimited. Prints "ready" once the link is started, then runs until killed.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from sync.keys import load_public_key
from sync.link import HqLink
from tests.sync.conftest import PREFIX, STORE, TZ, StoreClock


def main(argv: list[str]) -> None:
    data_dir, host, port, device_id, key_path, rate = argv
    clock = StoreClock()
    voucher_key = Ed25519PrivateKey.generate()

    def open_ledger() -> Ledger:
        return Ledger.open(
            Path(data_dir) / "ledger.db",
            device_id=device_id,
            clock=clock,
            tz=TZ,
            voucher_key=voucher_key,
            offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=10),
        )

    link = HqLink(
        device_id=device_id,
        store_id=STORE,
        host=host,
        port=int(port),
        tls=None,
        username=None,
        password=None,
        keepalive_s=5,
        topic_prefix=PREFIX,
        hq_public_keys=[load_public_key(Path(key_path))],
        ledger_factory=open_ledger,
        telemetry_source=dict,
        clock=clock,
        software_version="9.9.9",
        drain_rate_per_s=float(rate) or None,
        state_path=Path(data_dir) / "sync-state.sqlite",
        reconnect_min_s=1,
        reconnect_max_s=2,
        ack_timeout_s=3.0,
    )
    link.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
