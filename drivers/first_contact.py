"""First contact with a reader: one fixed sequence, recorded as a register trace to replay in tests.

The sequence is what a technician runs once on a new board (docs/hardware.md) and what the test
suite replays through the real driver (tests/drivers/test_replay.py): power-up (`init`, which
resets and configures the chip), one idle poll of the empty field, then a tap of a factory-fresh
MIFARE Classic card: select, authenticate block 4 with the transport key FF..FF, read it, halt.
Because the sequence is fixed, a trace recorded on any board can be replayed call for call.

Run on the Pi, with the kiosk service stopped::

    python -m drivers.first_contact spi --bus 0 --device 0 --reset-pin 25 --out first-contact.trace
    python -m drivers.first_contact uart --port /dev/serial0 --reset-pin 25 --out first-contact.trace
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.errors import ReaderError
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session

_LOG = logging.getLogger(__name__)

TRANSPORT_KEY = b"\xff" * 6
FIRST_DATA_BLOCK = 4
CARD_POLL_S = 0.05


@dataclass(frozen=True)
class FirstContact:
    """What the sequence found; `error` says where a tap went wrong (None if all went well)."""

    version: int
    idle_poll: bytes | None
    uid: bytes | None = None
    card_type: str | None = None
    block: bytes | None = None
    error: str | None = None


def first_contact(
    driver: Mfrc522,
    *,
    card_present: Callable[[], bool] | None = None,
    wait_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> FirstContact:
    """Run the fixed sequence. `card_present` (if given) is asked between the idle poll and the
    tap, so a test can put the card down; on a bench the technician gets `wait_s` to do it."""
    version = driver.init()
    idle = driver.request(wake=True)
    if card_present is not None:
        card_present()
    session = None
    waited = 0.0
    # Every empty poll is in the trace too; a replay runs this same loop, and the trace's answers
    # say when the card arrived, so however long the technician took replays call for call.
    while True:
        session = open_session(driver)
        if session is not None or waited >= wait_s:
            break
        sleep(CARD_POLL_S)
        waited += CARD_POLL_S
    if session is None:
        return FirstContact(version, idle, error="no card was presented")
    try:
        session.authenticate(FIRST_DATA_BLOCK, TRANSPORT_KEY, "A")
        block = session.read_block(FIRST_DATA_BLOCK)
    except ReaderError as exc:
        return FirstContact(version, idle, session.uid, session.card_type, error=f"{type(exc).__name__}: {exc}")
    finally:
        session.halt()
    return FirstContact(version, idle, session.uid, session.card_type, block)


def _trace_logger(path: str) -> logging.Logger:
    logger = logging.getLogger("drivers.first_contact.trace")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the trace goes to its file only, not to the console
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return logger


def main(argv: list[str] | None = None) -> int:
    from drivers.transport import open_transport
    from drivers.transport.spy import SpyTransport

    parser = argparse.ArgumentParser(prog="python -m drivers.first_contact", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("spi", "uart"))
    parser.add_argument("--bus", type=int, default=0)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--port", default="/dev/serial0")
    parser.add_argument("--reset-pin", type=int, default=None, help="BCM pin wired to RST (NRSTPD)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the card (default 30)")
    parser.add_argument("--out", default="first-contact.trace", help="trace file to write")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {"reset_pin": args.reset_pin}
    if args.kind == "spi":
        params.update(bus=args.bus, device=args.device)
    else:
        params.update(port=args.port)
    transport = SpyTransport(open_transport(args.kind, **params), logger=_trace_logger(args.out))
    print(f"put a factory-fresh MIFARE Classic card on the reader within {args.wait:.0f} s", file=sys.stderr)
    try:
        result = first_contact(Mfrc522(transport), wait_s=args.wait)
    except ReaderError as exc:
        print(f"reader fault: {type(exc).__name__}: {exc}; the trace so far is in {args.out}", file=sys.stderr)
        return 1
    finally:
        transport.close()
    print(result, file=sys.stderr)
    print(f"trace written to {args.out}", file=sys.stderr)
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
