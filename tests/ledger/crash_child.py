"""Child process for the crash test: redeems in a loop and prints each confirmed intent id.

Usage: python -m tests.ledger.crash_child DB_PATH START_INDEX. A line "ok N" is printed only after
the redemption for intent N returned, i.e. was committed; the parent may SIGKILL us at any moment.
Odd intents go through prepare + confirm (two transactions), even ones through redeem (one).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits

TZ = ZoneInfo("Asia/Shanghai")


class WallClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)


def main() -> None:
    path, start = Path(sys.argv[1]), int(sys.argv[2])
    ledger = Ledger.open(
        path,
        device_id="crash-kiosk",
        clock=WallClock(),
        tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(10**9, 10**9),
    )
    print("ready", flush=True)
    n = start
    while True:
        intent = f"intent-{n}"
        if n % 2:
            ledger.prepare_redemption(intent, "M1", "off-5", None, online=True)
            ledger.confirm_redemption(intent, None)
        else:
            ledger.redeem(intent, "M1", "off-5", online=True)
        print(f"ok {n}", flush=True)
        n += 1


if __name__ == "__main__":
    main()
