"""`kiosk run`: the display, the UI loop and the headless scenario around a built `KioskApp`.

Threads: the reader polls on its own thread and wakes the UI loop with a pygame event; the HQ link
runs in paho's and its own worker thread; everything the shopper sees happens on the main thread,
which is also the one that pings systemd's watchdog, so a stuck loop stops the pings.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.bootstrap import build_app
from app.errors import AppError
from app.kiosk_app import KioskApp
from app.logs import setup_logging_from_config
from app.notify import MainLoopWatchdog, Notifier
from app.pygame_lean import import_pygame_lean
from drivers.errors import ReaderError
from drivers.input_devices import EvdevInputs
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.ledger import CorruptDatabase
from kiosk.ui_state import UiState
from screens.errors import FontNotFound, ScreensError
from sync.errors import SyncError

if TYPE_CHECKING:  # pygame is imported only where a display is opened
    from screens.loop import InputSources

_LOG = logging.getLogger(__name__)

#: What a kiosk that cannot start raises on purpose (each layer's root), and the OS's refusals
#: (a data directory it may not create, ...): one line on stderr and exit 1, never a traceback.
STARTUP_ERRORS = (KioskError, AppError, ReaderError, ScreensError, SyncError, OSError)


def _has_display() -> bool:
    """A window or panel is there to draw on (an explicit SDL_VIDEODRIVER counts, dummy included)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER"))


def run_kiosk(config: Config, *, headless: bool = False, out_dir: Path = Path("out/scenario")) -> int:
    """`kiosk run`: the kiosk until it is stopped, or the headless scenario."""
    setup_logging_from_config(config)
    headless = headless or not (_has_display() or config.display.fullscreen)
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import_pygame_lean()
    # pygame loads here, not when app.runtime is imported
    from screens.loop import post_reader_event

    font_problem = _font_problem(config)
    if font_problem:
        return _cannot_start(font_problem)
    try:
        app = build_app(config, wake=lambda: post_reader_event(None))
    except CorruptDatabase as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    except STARTUP_ERRORS as exc:
        return _cannot_start(str(exc))
    try:
        if headless:
            from app.scenario import run_scenario

            return run_scenario(app, out_dir)
        return _run_interactive(app)
    finally:
        app.close()


def _cannot_start(reason: str) -> int:
    print(f"kiosk: cannot start: {reason}", file=sys.stderr)
    return 1


def _font_problem(config: Config) -> str | None:
    """Why the screens would find no font to draw Chinese with; None when they will.

    Asked before anything is opened, so a font problem is told in the config's words (the key
    is display.font) instead of surfacing from deep inside the first screen.
    """
    import pygame

    from screens.fonts import INSTALL_HINT, find_cjk_font

    font = config.display.font
    try:
        find_cjk_font(font or None)
    # pygame.error: SDL_ttf opens some files that are no font and fails only when drawing with them.
    except (FontNotFound, pygame.error) as exc:
        where = f"{config.source}: display.font" if config.source else "display.font"
        if not font:
            return f"{where} is empty and {exc}"
        if not Path(font).is_file():
            return f"{where}: {font} does not exist; point display.font at a CJK font or leave it empty"
        return (
            f"{where}: {font} draws no Chinese characters (or is no font); point display.font at a CJK font "
            f"or leave it empty to use one installed on the system; {INSTALL_HINT}"
        )
    return None


def _run_interactive(app: KioskApp) -> int:
    import pygame

    from app.sim_keys import SimulationKeys
    from screens.display import open_display
    from screens.loop import UiLoop

    config = app.config
    display = config.display
    try:
        surface = open_display(fullscreen=display.fullscreen, size=(display.width, display.height))
    except ScreensError as exc:
        return _cannot_start(f"the display: {exc}")
    pygame.display.set_caption(f"{config.device.display_name} - kiosk")
    ui = app.kiosk_ui(surface)
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
        from app import sim_control
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
    loop = UiLoop(
        target,
        on_intent=on_intent,
        on_tick=on_tick,
        on_reader_event=on_reader_event,
        max_fps=display.fps_cap,
        flip=flip,
        inputs=inputs,
        on_input=app.reader_thread.activity,  # somebody is here: the reader polls fast again
    )
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
