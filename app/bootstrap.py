"""The composition root: the one place that wires config, keys, ledger, reader and the HQ link.

`build_app(config)` opens everything a kiosk needs, in the order a failure is easiest to explain
(keys, ledger, reader, HQ link), and returns a `KioskApp`; app/runtime.py adds the display and
runs the loop. Tests and benchmarks build the same app through the same function.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import queue
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cryptography.exceptions import UnsupportedAlgorithm

from app.clock_trust import ClockSource, ClockStatus, ClockTrust, effective_policy
from app.errors import AppError
from app.hq_documents import import_hq_documents
from app.journal import member_tag
from app.key_files import ensure_keys
from app.kiosk_app import KioskApp
from app.package_state import CommandRunner, package_state, run_command
from app.reader_params import transport_params
from app.version import software_version
from drivers.errors import AuthError, CardTimeout, GpioFault, ReaderError
from drivers.events import ReaderEvent
from drivers.mfrc522 import Mfrc522
from drivers.presence import PresenceSensor
from drivers.reader_service import ReaderService
from drivers.reader_thread import ReaderThread
from drivers.transport import open_transport
from drivers.transport.base import RegisterTransport
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys, load_master_keys
from kiosk.cards.ports import TagSession
from kiosk.cards.tap import TapOutcome, tap_job
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.ledger import Ledger
from kiosk.ledger.configured import load_voucher_key, open_configured
from kiosk.ledger.demo import seed_demo
from kiosk.service import KioskService
from kiosk.session import Session
from kiosk.store_clock import StoreClock
from sync.errors import SyncError

if TYPE_CHECKING:  # the emulator and paho load only when simulation / an HQ link asks for them
    from app.simulation import SimulatedCards
    from sync.link import HqLink

T = TypeVar("T")

_LOG = logging.getLogger(__name__)

SIM_CARDS_FILE = "simulated-cards.json"
CARD_JOB_TIMEOUT_S = 3.0
#: Which driver errors mean what to the card code (kiosk/cards imports no driver).
CARD_FAULTS = CardFaults(io=(ReaderError,), wrong_key=(AuthError,))
#: RFCfgReg RxGain field values for the dB figures config.yaml accepts.
RX_GAIN_FIELD = {18: 2, 23: 3, 33: 4, 38: 5, 43: 6, 48: 7}


class StartupError(AppError, RuntimeError):
    """A key file or the reader cannot be opened; the message names the config key and the reason."""


def load_key(name: str, load: Callable[[Path], T], path: Path) -> T:
    """Load the key file `security.<name>`; a missing or broken one is a StartupError naming the key."""
    try:
        return load(path)
    # cryptography says "bad PEM" with ValueError / UnsupportedAlgorithm; the loaders of our own
    # layers with their roots.
    except (KioskError, SyncError, ValueError, UnsupportedAlgorithm, OSError) as exc:
        reason = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        raise StartupError(f"security.{name}: {reason}") from exc


def open_ledger(config: Config, clock: StoreClock) -> tuple[Ledger, bool]:
    """Open the ledger; seed demo data into an empty one in simulation. Returns (ledger, fresh)."""
    try:
        config.ledger.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"ledger.data_dir: cannot create {config.ledger.data_dir}: {exc.strerror or exc}") from exc
    ledger = open_configured(config, clock)
    fresh = False
    if config.simulation.enabled and config.simulation.demo_data and ledger.member_count() == 0:
        folder = config.simulation.hq_documents
        if folder is not None and import_hq_documents(config, ledger, clock, folder):
            _LOG.info("seeded the ledger from HQ's demo (points from HQ's purchase history)")
        else:
            seed_demo(ledger, clock.now(), with_pin=True)
            _LOG.info("seeded the ledger with the built-in demo members")
        fresh = True
    return ledger, fresh


def _open_transport(config: Config, simulation: SimulatedCards | None) -> RegisterTransport:
    reader = config.reader
    if reader.driver == "emulator":
        assert simulation is not None, "the emulator transport needs the simulated field"
        return open_transport("emulator", spy=reader.spy, chip=simulation.chip)
    return open_transport(reader.driver, spy=reader.spy, **transport_params(reader))


def open_driver(config: Config, simulation: SimulatedCards | None) -> Mfrc522:
    return Mfrc522(_open_transport(config, simulation), rx_gain=RX_GAIN_FIELD[config.reader.rx_gain_db])


def _build_link(config: Config, app: KioskApp) -> HqLink | None:
    if not config.hq.enabled:
        _LOG.info("hq.host is empty: running offline, events wait in the outbox")
        return None
    from sync.keys import load_public_keys
    from sync.link import HqLink
    from sync.mqtt_client import TlsSettings

    hq = config.hq
    tls = TlsSettings(hq.tls_ca, hq.tls_cert, hq.tls_key) if hq.tls_ca else None
    return HqLink(
        device_id=config.device.id,
        store_id=config.device.store_id,
        host=hq.host,
        port=hq.port,
        tls=tls,
        username=hq.username,
        password=hq.password.get_secret_value() if hq.password else None,
        keepalive_s=hq.keepalive_s,
        topic_prefix=hq.topic_prefix,
        hq_public_keys=load_key("hq_public_key", lambda path: load_public_keys([path]), config.security.hq_public_key),
        ledger=app.ledger,
        telemetry_source=app.telemetry,
        clock=app.clock,
        drain_rate_per_s=hq.drain_rate_per_s,
        state_path=config.ledger.sync_state_file,
        software_version=software_version(),
        package=app.package.to_json() if app.package is not None else None,
        discovery=_discovery(config, hq.topic_prefix) if config.monitoring.ha_discovery else None,
    )


def _discovery(config: Config, topic_prefix: str) -> Callable[[], list[tuple[str, bytes]]]:
    """Home Assistant's retained configs, built when the link connects (sync/ha_discovery.py)."""
    from sync.ha_discovery import discovery_messages
    from sync.topics import KioskTopics

    topics = KioskTopics(topic_prefix, config.device.id, config.device.store_id)
    return lambda: discovery_messages(
        topics,
        display_name=config.device.display_name,
        software_version=software_version(),
        prefix=config.monitoring.ha_discovery_prefix,
    )


def open_presence(config: Config, simulation: SimulatedCards | None) -> PresenceSensor | None:
    """reader.presence_pin's sensor (the simulation's with the emulator); None: none, or it failed.

    A sensor that cannot be opened does not stop the kiosk: it logs why and polls fast all the
    time, as without a sensor."""
    reader = config.reader
    if reader.presence_pin is None:
        return None
    if simulation is not None:
        return simulation.presence
    from drivers.presence import GpioPresence

    try:
        return GpioPresence(
            reader.presence_pin, active_high=reader.presence_active == "high", backend=reader.gpio_backend
        )
    except GpioFault as exc:
        _LOG.error("presence sensor on BCM%d unusable, polling fast all the time: %s", reader.presence_pin, exc)
        return None


def simulated_cards(config: Config, keys: MasterKeys, *, fresh: bool) -> SimulatedCards | None:
    """The simulation's demo cards (app.simulation.SimulatedCards), or None with a real reader."""
    if config.reader.driver != "emulator":
        return None
    from app.simulation import SimulatedCards

    state_file = config.ledger.data_dir / SIM_CARDS_FILE
    if fresh:
        state_file.unlink(missing_ok=True)  # a new ledger knows no counters: start the cards afresh too
    return SimulatedCards(state_file, keys, CARD_FAULTS, version=config.reader.emulator_version)


def build_app(
    config: Config,
    *,
    wake: Callable[[], None] | None = None,
    clock_source: Callable[[], ClockStatus] | None = None,
    package_query: CommandRunner = run_command,
) -> KioskApp:
    """Open keys, ledger, reader and HQ link; nothing is drawn yet.

    `clock_source` says whether the system clock is synchronised (default: the system's own,
    app/clock_trust.py); `package_query` runs dpkg-query (app/package_state.py).
    """
    clock = StoreClock(config.device.tz)
    clock_trust = ClockTrust(
        clock_source or ClockSource().read, effective_policy(config.device.clock_policy, config.reader.driver)
    )
    if config.simulation.enabled and config.simulation.generate_keys:
        ensure_keys(config, simulation=True)
    master_keys = load_key("card_master_key", load_master_keys, config.security.card_master_key)
    # The ledger loads the voucher key itself; loaded here first so a broken one is told as a key problem.
    load_key("voucher_signing_key", load_voucher_key, config.security.voucher_signing_key)
    ledger, fresh = open_ledger(config, clock)

    simulation = simulated_cards(config, master_keys, fresh=fresh)
    try:
        driver = open_driver(config, simulation)
    # RPi.GPIO refuses to import off a Pi with RuntimeError; a missing spidev is an ImportError.
    except (ReaderError, ImportError, RuntimeError, OSError) as exc:
        raise StartupError(f"reader.driver {config.reader.driver}: cannot open the reader: {exc}") from exc
    reader = ReaderService(
        driver,
        clock,
        poll_interval_s=config.reader.poll_interval_ms / 1000,
        cooldown_s=config.reader.cooldown_ms / 1000,
        read_job=tap_job(master_keys, ledger, CARD_FAULTS),
    )
    events: queue.Queue[ReaderEvent[TapOutcome]] = queue.Queue()
    presence = open_presence(config, simulation)
    reader_thread = ReaderThread(
        reader,
        events,
        wake=wake,
        presence=presence,
        idle_interval_s=config.reader.idle_poll_interval_ms / 1000,
        hold_s=config.reader.presence_hold_s,
        monotonic=clock.monotonic,
    )

    def run_on_card(job: Callable[[TagSession], T]) -> T:
        future = reader_thread.submit(job)
        try:
            return future.result(timeout=CARD_JOB_TIMEOUT_S)
        except TimeoutError:
            raise CardTimeout("card job did not finish in time") from None
        finally:
            if simulation is not None:
                simulation.save()  # a card write must outlive a crash, like the ledger's record of it

    service = KioskService(
        ledger,
        master_keys,
        CARD_FAULTS,
        run_on_card,
        clock.now,
        denylist_max_age=dt.timedelta(hours=config.ledger.denylist_max_age_h),
        stale_denylist_max_points=config.ledger.stale_denylist_max_points,
        clock_trusted=clock_trust.trusted,
    )
    session = Session(
        service,
        store_name=config.device.display_name,
        inactivity_timeout_s=config.display.inactivity_timeout_s,
        monotonic=clock.monotonic,
        is_online=lambda: app.online,
    )
    app = KioskApp(config, clock, ledger, reader, reader_thread, events, service, session, simulation)
    app.clock_trust = clock_trust
    app.member_tag = functools.partial(member_tag, master_keys.mac_key)
    app.package = package_state(package_query)
    app.link = _build_link(config, app)
    return app
