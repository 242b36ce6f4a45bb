"""The composition root: the one place that wires config, ledger, reader, screens and the HQ link.

`build_app(config)` opens everything a kiosk needs, in the order a failure is easiest to explain
(keys, ledger, reader, HQ link), and `run_kiosk` adds the display and runs the loop: a window or
fullscreen panel, or, with no display, the scripted headless scenario. Threads: the reader polls
on its own thread and wakes the UI loop with a pygame event; the HQ link runs in paho's and its
own worker thread; everything the shopper sees happens on the main thread, which is also the one
that pings systemd's watchdog, so a stuck loop stops the pings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from drivers.errors import AuthError, CardTimeout, ReaderError
from drivers.events import CardPresented, CardRemoved, ReadFailed, ReaderHealthChanged
from drivers.input_devices import EvdevInputs
from drivers.mfrc522 import Mfrc522
from drivers.reader_service import ReaderService
from drivers.reader_thread import ReaderThread
from drivers.transport import open_transport
from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys, load_master_keys
from kiosk.cards.tap import tap_job
from kiosk.commands.keys import ensure_keys
from kiosk.config import Config
from kiosk.clock import StoreClock
from kiosk.ledger import CorruptDatabase, Ledger
from kiosk.ledger.configured import open_configured
from kiosk.ledger.demo import seed_demo
from kiosk.logs import setup_logging_from_config
from kiosk.notify import MainLoopWatchdog, Notifier, status_line
from kiosk.reader_params import transport_params
from kiosk.service import KioskService
from kiosk.session import Session
from kiosk.ui_state import Notice, UiState, screen_name

if TYPE_CHECKING:  # pygame is imported only where a display is opened
    from screens.loop import InputSources

_LOG = logging.getLogger(__name__)

SIM_CARDS_FILE = "simulated-cards.json"
CARD_JOB_TIMEOUT_S = 3.0
#: How long a redemption interrupted by a pulled card waits for the card to come back.
PENDING_REDEMPTION_TTL = dt.timedelta(minutes=10)
STALE_CHECK_INTERVAL_S = 60.0
#: Which driver errors mean what to the card code (kiosk/cards imports no driver).
CARD_FAULTS = CardFaults(io=(ReaderError,), wrong_key=(AuthError,))
#: RFCfgReg RxGain field values for the dB figures config.yaml accepts.
RX_GAIN_FIELD = {18: 2, 23: 3, 33: 4, 38: 5, 43: 6, 48: 7}


@dataclass
class KioskApp:
    """Everything `build_app` opened; `close()` releases it in reverse order."""

    config: Config
    clock: StoreClock
    ledger: Ledger
    reader: ReaderService
    reader_thread: ReaderThread
    reader_events: "queue.Queue[Any]"
    service: KioskService
    session: Session
    simulation: Any | None = None  # kiosk.simulation.SimulatedCards
    link: Any | None = None  # sync.link.HqLink
    _outbox_depth: int = 0
    _outbox_checked: float = float("-inf")
    _stale_checked: float = float("-inf")

    # --- reader events -> session (main thread) ------------------------------------------

    def drain_reader_events(self) -> None:
        applied = False
        while True:
            try:
                event = self.reader_events.get_nowait()
            except queue.Empty:
                break
            self._apply_reader_event(event)
            applied = True
        if applied:  # a tap may have written events (security, counters); an empty drain wrote none
            self.nudge_link()

    def _apply_reader_event(self, event: Any) -> None:
        if isinstance(event, CardPresented):
            self.session.card_read(event.result, event.uid)
        elif isinstance(event, CardRemoved):
            self.session.card_removed(event.uid)
        elif isinstance(event, ReadFailed):
            self.session.card_read_failed(event.reason)
        elif isinstance(event, ReaderHealthChanged):
            if event.state in ("ok", "failed"):
                self.session.reader_health(event.state == "ok", event.last_error or "")

    # --- periodic work --------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """HQ is reachable right now (always False when hq.host is empty)."""
        return self.link is not None and self.link.online

    def tick(self) -> None:
        self.drain_reader_events()  # normally the reader's wake-up event got here first
        self.session.set_online(self.online)
        self.session.tick()
        now = time.monotonic()
        if now - self._stale_checked >= STALE_CHECK_INTERVAL_S:
            self._stale_checked = now
            # A card pulled mid-write keeps its redemption prepared for a re-tap; not forever.
            self.ledger.abandon_stale_redemptions(PENDING_REDEMPTION_TTL)

    def nudge_link(self) -> None:
        if self.link is not None:
            self.link.notify_outbox()

    def outbox_depth(self, max_age_s: float = 5.0) -> int:
        now = time.monotonic()
        if now - self._outbox_checked >= max_age_s:
            self._outbox_depth = self.ledger.outbox_depth()
            self._outbox_checked = now
        return self._outbox_depth

    def status_text(self, state: UiState | None = None) -> str:
        """The STATUS line; names `state`'s screen (default: the session's current state)."""
        state = self.session.state if state is None else state
        screen = f"notice {state.kind.value}" if isinstance(state, Notice) else screen_name(state)
        return status_line(screen, self.online, self.outbox_depth(),
                           self.reader.health.state)

    def telemetry(self) -> dict[str, Any]:
        health = self.reader.health
        return {"reader": {"state": health.state, "last_error": health.last_error,
                           "version": health.version, "counts": dict(health.counts)},
                "rules_version": self.ledger.rules_version(),
                "denylist_version": self.ledger.denylist_version(),
                "member_snapshot_version": self.ledger.member_snapshot_version()}

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
        self.reader_thread.stop()
        if self.simulation is not None:
            self.simulation.remove()
            self.simulation.save()
        self.reader.driver.transport.close()
        self.ledger.close()


def _open_ledger(config: Config, clock: StoreClock) -> tuple[Ledger, bool]:
    """Open the ledger; seed demo data into an empty one in simulation. Returns (ledger, fresh)."""
    config.ledger.data_dir.mkdir(parents=True, exist_ok=True)
    ledger = open_configured(config, clock)
    fresh = False
    if config.simulation.enabled and config.simulation.demo_data and ledger.member_count() == 0:
        seed_demo(ledger, clock.now())
        fresh = True
        _LOG.info("seeded the ledger with demo members")
    return ledger, fresh


def _open_transport(config: Config, simulation: Any | None) -> Any:
    reader = config.reader
    if reader.driver == "emulator":
        assert simulation is not None, "the emulator transport needs the simulated field"
        return open_transport("emulator", spy=reader.spy, chip=simulation.chip)
    return open_transport(reader.driver, spy=reader.spy, **transport_params(reader))


def _open_driver(config: Config, simulation: Any | None) -> Mfrc522:
    return Mfrc522(_open_transport(config, simulation), rx_gain=RX_GAIN_FIELD[config.reader.rx_gain_db])


def _build_link(config: Config, app: KioskApp) -> Any | None:
    if not config.hq.enabled:
        _LOG.info("hq.host is empty: running offline, events wait in the outbox")
        return None
    from sync.keys import load_public_keys
    from sync.link import HqLink
    from sync.mqtt_client import TlsSettings

    hq = config.hq
    tls = TlsSettings(hq.tls_ca, hq.tls_cert, hq.tls_key) if hq.tls_ca else None
    return HqLink(
        device_id=config.device.id, store_id=config.device.store_id, host=hq.host, port=hq.port, tls=tls,
        username=hq.username, password=hq.password.get_secret_value() if hq.password else None,
        keepalive_s=hq.keepalive_s, topic_prefix=hq.topic_prefix,
        hq_public_keys=load_public_keys([config.security.hq_public_key]),
        ledger=app.ledger, telemetry_source=app.telemetry, clock=app.clock,
        drain_rate_per_s=hq.drain_rate_per_s, state_path=config.ledger.sync_state_file)


def _simulated_cards(config: Config, keys: MasterKeys, *, fresh: bool) -> Any | None:
    """The simulation's demo cards (kiosk.simulation.SimulatedCards), or None with a real reader."""
    if config.reader.driver != "emulator":
        return None
    from kiosk.simulation import SimulatedCards

    state_file = config.ledger.data_dir / SIM_CARDS_FILE
    if fresh:
        state_file.unlink(missing_ok=True)  # a new ledger knows no counters: start the cards afresh too
    return SimulatedCards(state_file, keys, CARD_FAULTS, version=config.reader.emulator_version)


def build_app(config: Config, *, wake: Callable[[], None] | None = None) -> KioskApp:
    """Open keys, ledger, reader and HQ link; nothing is drawn yet."""
    clock = StoreClock(config.device.tz)
    if config.simulation.enabled and config.simulation.generate_keys:
        ensure_keys(config, simulation=True)
    master_keys: MasterKeys = load_master_keys(config.security.card_master_key)
    ledger, fresh = _open_ledger(config, clock)

    simulation = _simulated_cards(config, master_keys, fresh=fresh)
    reader = ReaderService(_open_driver(config, simulation), clock,
                           poll_interval_s=config.reader.poll_interval_ms / 1000,
                           cooldown_s=config.reader.cooldown_ms / 1000,
                           read_job=tap_job(master_keys, ledger, CARD_FAULTS))
    events: "queue.Queue[Any]" = queue.Queue()
    reader_thread = ReaderThread(reader, events, wake=wake)

    def run_on_card(job: Callable[[Any], Any]) -> Any:
        future = reader_thread.submit(job)
        try:
            return future.result(timeout=CARD_JOB_TIMEOUT_S)
        except TimeoutError:
            raise CardTimeout("card job did not finish in time") from None
        finally:
            if simulation is not None:
                simulation.save()  # a card write must outlive a crash, like the ledger's record of it

    service = KioskService(ledger, master_keys, CARD_FAULTS, run_on_card, clock.now,
                           denylist_max_age=dt.timedelta(hours=config.ledger.denylist_max_age_h),
                           stale_denylist_max_points=config.ledger.stale_denylist_max_points)
    session = Session(service, store_name=config.device.display_name,
                      inactivity_timeout_s=config.display.inactivity_timeout_s, monotonic=clock.monotonic,
                      is_online=lambda: app.online)
    app = KioskApp(config, clock, ledger, reader, reader_thread, events, service, session, simulation)
    app.link = _build_link(config, app)
    return app


def _has_display() -> bool:
    """A window or panel is there to draw on (an explicit SDL_VIDEODRIVER counts, dummy included)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER"))


#: Imports pygame's __init__ attempts that `kiosk run` does not need, each with its cost.
#: pygame.pkgdata imports setuptools' pkg_resources when it can (a Python 3.11 venv has setuptools)
#: only to locate pygame's bundled default font and icon; its ImportError fallback finds the same
#: files by path. pkg_resources scans every installed distribution: ~6 MB resident, 0.1 s.
#: pygame.mixer_music and pygame.mixer load SDL_mixer and its codec libraries (vorbis, opus, FLAC,
#: mpg123, fluidsynth, pulse): ~5 MB resident. The kiosk plays no sound.
_PYGAME_IMPORTS_SKIPPED = ("pkg_resources", "pygame.mixer_music", "pygame.mixer")


def _import_pygame_lean() -> None:
    """Import pygame with the modules in `_PYGAME_IMPORTS_SKIPPED` looking absent.

    pygame's __init__ catches their ImportError (`pygame.mixer` becomes a MissingModule). The
    markers are removed afterwards, so an explicit `import pygame.mixer` later still works.
    bench/kiosk.py measures the resident memory this saves.
    """
    if "pygame" in sys.modules:
        return
    marked = [name for name in _PYGAME_IMPORTS_SKIPPED if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import pygame  # noqa: F401
    finally:
        for name in marked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def run_kiosk(config: Config, *, headless: bool = False, out_dir: Path = Path("out/scenario")) -> int:
    """`kiosk run`: the kiosk until it is stopped, or the headless scenario."""
    setup_logging_from_config(config)
    headless = headless or not (_has_display() or config.display.fullscreen)
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    _import_pygame_lean()
    from screens.loop import post_reader_event  # pygame loads here, not at import of kiosk.app

    try:
        app = build_app(config, wake=lambda: post_reader_event(None))
    except CorruptDatabase as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    try:
        if headless:
            from kiosk.scenario import run_scenario

            return run_scenario(app, out_dir)
        return _run_interactive(app)
    finally:
        app.close()


def _run_interactive(app: KioskApp) -> int:
    import pygame

    from screens.display import open_display
    from screens.fonts import find_cjk_font
    from screens.loop import UiLoop
    from screens.ui import KioskUI
    from kiosk.sim_keys import SimulationKeys

    config = app.config
    display = config.display
    surface = open_display(fullscreen=display.fullscreen, size=(display.width, display.height))
    pygame.display.set_caption(f"{config.device.display_name} - kiosk")
    ui = KioskUI(surface, locale=display.locale, tz=config.device.tz,
                 font_path=find_cjk_font(display.font or None), clock=app.clock.now,
                 rotation=display.rotation, px_per_mm=display.px_per_mm)
    ui.show(app.session.state)
    notifier = Notifier.from_environ()
    watchdog = MainLoopWatchdog.from_environ(notifier)
    watchdog.require("reader thread alive", lambda: app.reader_thread.alive)

    def on_intent(intent: Any) -> UiState:
        app.session.handle(intent)
        app.nudge_link()
        return app.session.state

    # The state whose pixels are on the panel: STATUS names only that, never a screen that this
    # turn of the loop has yet to draw (the benchmark times tap-to-screen by STATUS).
    presented: list[UiState | None] = [None]

    def on_tick(now: float) -> UiState:
        app.tick()
        watchdog.beat()
        if presented[0] is not None:
            watchdog.status(app.status_text(presented[0]))  # online/outbox changes without a redraw
        return app.session.state

    control = None
    if app.simulation is not None and os.environ.get("KIOSK_SIM_CONTROL"):
        from kiosk import sim_control
        from screens.loop import post_reader_event

        control = sim_control.ControlServer(Path(os.environ["KIOSK_SIM_CONTROL"]), lambda: post_reader_event(None))

    def on_reader_event(payload: Any) -> UiState:
        app.drain_reader_events()
        if control is not None:
            sim_control.drain(app, control)
        return app.session.state

    def flip(rects: list[Any]) -> None:
        pygame.display.update(rects)
        # Told right after the pixels are out, so "member" in systemctl status (and the benchmark
        # listening on NOTIFY_SOCKET) means the member screen is really on the panel. Animation
        # frames of the same screen change nothing there (online/outbox changes come by tick).
        if ui.state is not presented[0]:
            presented[0] = ui.state
            watchdog.status(app.status_text(presented[0]))

    target = SimulationKeys(ui, app.simulation) if app.simulation is not None else ui
    inputs = _input_sources(display.input_wait)
    loop = UiLoop(target, on_intent=on_intent, on_tick=on_tick, on_reader_event=on_reader_event,
                  max_fps=display.fps_cap, flip=flip, inputs=inputs)
    if control is not None:
        control.start()
    # systemd stops the service with SIGTERM: finish the frame, close the ledger cleanly.
    signal.signal(signal.SIGTERM, lambda signum, frame: loop.stop())
    app.reader_thread.start()
    if app.link is not None:
        app.link.start()
    # READY only once the idle screen is on the panel: "active" in systemctl means a shopper sees it.
    loop.step(max_wait_s=0)
    notifier.ready(app.status_text(presented[0]))
    _LOG.info("kiosk ready: %s", app.status_text(presented[0]))
    try:
        loop.run()
    finally:
        notifier.stopping()
        if control is not None:
            control.stop()
        if inputs is not None:
            inputs.close()
    return 0


#: SDL video drivers that read touches from the kernel's evdev devices, and those with no input.
EVDEV_VIDEO_DRIVERS = frozenset({"kmsdrm", "evdev", "fbcon", "directfb"})
NO_INPUT_VIDEO_DRIVERS = frozenset({"dummy", "offscreen"})


def _input_sources(setting: str) -> InputSources | None:
    """What the UI loop waits on instead of polling SDL for touches (screens/loop.py); None: poll.

    `setting` is display.input_wait: "auto" decides by the SDL video driver in use, "poll" always
    polls (the fallback if a panel's driver should ever not show up under /dev/input).
    """
    import pygame

    from screens.loop import NoInputs

    if setting == "poll":
        return None
    driver = pygame.display.get_driver()
    if driver in NO_INPUT_VIDEO_DRIVERS:
        return NoInputs()  # only our own posted events, and each of those rings the doorbell
    if driver in EVDEV_VIDEO_DRIVERS:
        return EvdevInputs()
    return None  # X11, Wayland, ...: input comes through the window system; poll SDL


@contextlib.contextmanager
def card_tools(config: Config, *, keys: MasterKeys, timeout_s: float) -> Iterator[Any]:
    """A card on the configured reader for the staff tools (`kiosk card ...`).

    On a device: open the reader, wait up to `timeout_s` for a card, yield it. In simulation:
    the demo field, with the card chosen by $KIOSK_SIM_CARD (default 8, the blank card; 1-7 are
    the demo members' cards); changes to demo member cards are saved like the running kiosk's.
    The kiosk service must not be using the reader at the same time. The caller provides the keys
    (`kiosk card` creates the simulation's first, as `kiosk run` does).
    """
    from drivers.session import open_session
    from kiosk.commands.card import CardTools

    ledger, fresh = _open_ledger(config, StoreClock(config.device.tz))
    simulation = None
    try:
        simulation = _simulated_cards(config, keys, fresh=fresh)
        if simulation is not None:
            simulation.tap(int(os.environ.get("KIOSK_SIM_CARD", "8")))
        driver = _open_driver(config, simulation)
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
