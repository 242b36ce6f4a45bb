"""Render benchmark for the touchscreen UI: time to switch to and draw each screen, and the CPU
share of the UI loop while the kiosk sits idle.

Run from the repository root: `python -m bench.render`. Headless (SDL dummy driver) unless
SDL_VIDEODRIVER is set. Side by side in one run: the idle loop waiting by polling (where the app
does not know what carries input), by `pygame.event.wait` (SDL's wait), on its input sources (here
none, as `kiosk run` headless: `ui_idle_cpu_pct_input_wait`), and polling on a rotated panel.
Environment: KIOSK_BENCH_REPEAT (renders per screen, default 15), KIOSK_BENCH_IDLE_SECONDS
(seconds per idle measurement, default 5). The last line is JSON with `render_ms` (per screen,
median, cold caches), `render_ms_max`, `ui_idle_cpu_pct`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from typing import Literal

# Set before the imports below: pygame reads them when it loads.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from screens import samples, widgets
from screens.fonts import find_cjk_font
from screens.loop import InputSources, NoInputs, UiLoop
from screens.ui import KioskUI

PANEL = (800, 480)


def make_ui(surface: pygame.Surface, rotation: int = 0, locale: str = "zh_CN") -> KioskUI:
    return KioskUI(
        surface,
        locale=locale,
        tz=samples.STORE_TZ,
        font_path=find_cjk_font(None),
        clock=lambda: dt.datetime.now(samples.STORE_TZ),
        rotation=rotation,
    )


def render_times(repeat: int, cold: bool) -> dict[str, float]:
    """Median ms to switch to each screen and draw all of it (screen built, static picture drawn).

    Cold: the text and QR caches are emptied first, as they are when a session starts (showing
    idle clears them for privacy). Warm: labels already rendered once.
    """
    surface = pygame.display.get_surface()
    ui = make_ui(surface)
    states = samples.all_states()
    out = {}
    for name, state in states.items():
        times = []
        other = states["reading" if name != "reading" else "idle"]
        for _ in range(repeat):
            ui.show(other)
            ui.draw()
            if cold:
                widgets.forget_rendered()
            start = time.perf_counter()
            ui.show(state)
            ui.draw()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = round(statistics.median(times), 2)
    return out


def idle_cpu(
    seconds: float, wait: Literal["poll", "sdl"], rotation: int = 0, inputs: InputSources | None = None
) -> tuple[float, int]:
    """CPU share (% of one core) of the real UI loop showing the idle screen, and frames flipped."""
    surface = pygame.display.get_surface()
    ui = make_ui(surface, rotation=rotation)
    ui.show(samples.all_states()["idle"])
    started = time.monotonic()

    def on_tick(now: float) -> None:
        if now - started >= seconds:
            loop.stop()
        return None

    loop = UiLoop(ui, on_intent=lambda intent: None, on_tick=on_tick, wait=wait, inputs=inputs)
    loop.step(max_wait_s=0)  # first full draw is not idle work
    cpu0, wall0 = time.process_time(), time.monotonic()
    loop.run()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return round(100.0 * cpu / wall, 2), loop.frames


def main() -> int:
    repeat = int(os.environ.get("KIOSK_BENCH_REPEAT", "15"))
    idle_s = float(os.environ.get("KIOSK_BENCH_IDLE_SECONDS", "5"))
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode(PANEL)
    print(f"SDL video driver: {pygame.display.get_driver()}, panel {PANEL[0]}x{PANEL[1]}")

    render_ms = render_times(repeat, cold=True)
    warm_ms = render_times(repeat, cold=False)
    width = max(len(n) for n in render_ms)
    print(f"\nswitch-to-screen + full draw, median of {repeat} (ms):")
    print(f"  {'screen':<{width}}     cold     warm")
    for name, ms in render_ms.items():
        print(f"  {name:<{width}}  {ms:7.2f}  {warm_ms[name]:7.2f}")

    print(f"\nidle UI loop, {idle_s:g} s each (CPU % of one core, frames flipped):")
    poll, poll_frames = idle_cpu(idle_s, "poll")
    print(f"  wait=poll                {poll:6.2f} %  {poll_frames} frames")
    waiting, waiting_frames = idle_cpu(idle_s, "poll", inputs=NoInputs())
    print(f"  on input sources (none)  {waiting:6.2f} %  {waiting_frames} frames")
    sdl, sdl_frames = idle_cpu(idle_s, "sdl")
    print(f"  wait=sdl (event.wait)    {sdl:6.2f} %  {sdl_frames} frames")
    rotated, rotated_frames = idle_cpu(idle_s, "poll", rotation=90)
    print(f"  wait=poll, portrait 90°  {rotated:6.2f} %  {rotated_frames} frames")

    figures = {
        "render_ms": render_ms,
        "render_ms_max": max(render_ms.values()),
        "render_ms_warm_max": max(warm_ms.values()),
        "ui_idle_cpu_pct": poll,
        "ui_idle_cpu_pct_sdl_wait": sdl,
        "ui_idle_cpu_pct_input_wait": waiting,
        "ui_idle_cpu_pct_rotated": rotated,
        "idle_frames_per_s": round(poll_frames / idle_s, 1),
    }
    pygame.quit()
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
