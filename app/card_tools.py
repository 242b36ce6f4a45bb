"""A card on the configured reader for the staff tools (`kiosk card ...`).

`card_tools(config, keys, timeout_s)` opens the reader the way the kiosk does (or the demo field
in simulation), waits for a card and yields a `CardTools` bundle; the command handlers in
app/cli/card.py are plain functions over that bundle, so tests run them against emulated cards.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from app.bootstrap import CARD_FAULTS, open_driver, open_ledger, simulated_cards
from drivers.errors import CardTimeout
from drivers.session import open_session
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.ports import TagSession
from kiosk.config import Config
from kiosk.ledger import Ledger
from kiosk.store_clock import StoreClock


@dataclass
class CardTools:
    """What a card command works with; built by `card_tools` or by tests."""

    session: TagSession
    faults: CardFaults
    keys: MasterKeys
    ledger: Ledger | None = None  # registration and deny-list status


@contextlib.contextmanager
def card_tools(config: Config, *, keys: MasterKeys, timeout_s: float) -> Iterator[CardTools]:
    """A card on the configured reader for the staff tools (`kiosk card ...`).

    On a device: open the reader, wait up to `timeout_s` for a card, yield it. In simulation:
    the demo field, with the card chosen by $KIOSK_SIM_CARD (default 8, the blank card; 1-7 are
    the demo members' cards); changes to demo member cards are saved like the running kiosk's.
    The kiosk service must not be using the reader at the same time. The caller provides the keys
    (`kiosk card` creates the simulation's first, as `kiosk run` does).
    """
    ledger, fresh = open_ledger(config, StoreClock(config.device.tz))
    simulation = None
    try:
        simulation = simulated_cards(config, keys, fresh=fresh)
        if simulation is not None:
            simulation.tap(int(os.environ.get("KIOSK_SIM_CARD", "8")))
        driver = open_driver(config, simulation)
        try:
            driver.init()
            deadline = time.monotonic() + timeout_s
            session = open_session(driver)
            while session is None and time.monotonic() < deadline:
                time.sleep(config.reader.poll_interval_ms / 1000)
                session = open_session(driver)
            if session is None:
                raise CardTimeout(f"no card presented within {timeout_s:.0f} s")
            yield CardTools(session=session, faults=CARD_FAULTS, keys=keys, ledger=ledger)
        finally:
            driver.transport.close()
    finally:
        if simulation is not None:
            simulation.remove()
        ledger.close()
