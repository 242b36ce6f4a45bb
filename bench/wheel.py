"""Prize wheel benchmark (issue #21): the CPU of the wheel's light, next to the still screens.

`python -m bench.wheel [--rounds N] [--seconds S] [--spins K] [--quick]` from the repository root.
Headless (SDL's dummy driver unless SDL_VIDEODRIVER is set). The real `KioskUI` and `UiLoop`, built
as `kiosk run` builds them headless (input sources: none, so the loop sleeps on its doorbell until
a frame or a tick is due), with the real monotonic clock and real sleeps, in this process. The
session's tick (`on_tick`) does nothing here, as on the attract screen of a running kiosk; it still
wakes the loop on its grid (1/3 s), as it does in the kiosk.

Scenarios, each measured as process CPU time (`time.process_time`, all threads) over wall time
(`time.perf_counter`), in percent of one core, with the loop's flips (frames) and wake-ups (returns
from the loop's sleeps) counted over the same window:

- idle: the attract screen (`samples.all_states()["idle"]`: ripple animation and clock);
- wheel_rest: the wheel screen before a spin (`["wheel"]`); nothing on it is dynamic, so after its
  first draw it should flip no frame at all;
- wheel_spin: `--spins` spins in a row; each shows `["wheel_turning"]` with `spun_at` = now (a
  different `spin_id` each time) and runs the loop until `spun_at + kiosk.session.SPIN_SECONDS`.
  The window includes `ui.show` and the first full draw (building the screen pre-renders one
  wheel picture per segment), since that is part of what a spin costs;
- member: the member screen at rest (`["member"]`).

The first draw of a still scenario (idle, wheel_rest, member) is done before its window opens: it
is the cost of a screen change, not of resting. Rounds alternate the scenarios (the order rotates
by one each round) so the machine's noise hits them all alike; figures are medians over rounds.

Final JSON line:
- `idle_cpu_pct`, `wheel_rest_cpu_pct`, `wheel_spin_cpu_pct`, `member_cpu_pct`: medians, % of a core;
- `wheel_spin_cpu_ms`: CPU per spin (show + first draw + the light's frames + the loop's wake-ups);
  `wheel_spin_setup_ms`: the `ui.show` + first draw part of it;
- `wheel_spin_frames_per_s` (all flips in the spin windows, first draws included),
  `wheel_spin_frames` (per spin);
- `wheel_frame_cpu_ms`: process CPU per light frame during a spin, everything after the first draw
  divided by the frames flipped after it (drawing, flipping, waking, the ticks in between);
  `wheel_frame_draw_ms`: median CPU of `ui.draw()` + the flip alone for one light frame;
- `*_frames_per_s` and `*_wakeups_per_s` for every scenario, `wheel_rest_frames_after_first`
  and `member_frames_after_first` (total over the run; 0 expected), `idle_dynamic_parts`
  (what animates on the attract screen: the wheel must add nothing there).

`--quick` (or KIOSK_BENCH_QUICK=1): 2 rounds of 1 s per still scenario and one spin.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# Set before the imports below: pygame reads them when it loads.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from bench.machine import describe
from kiosk.ui_state import SPIN_SECONDS, WheelSpin
from screens import samples
from screens.fonts import find_cjk_font
from screens.loop import NoInputs, UiLoop
from screens.ui import KioskUI

PANEL = (800, 480)
SCENARIOS = ("idle", "wheel_rest", "wheel_spin", "member")
STILL_STATES = {"idle": "idle", "wheel_rest": "wheel", "member": "member"}


@dataclass
class Window:
    """What one scenario cost over one measured window."""

    cpu_s: float
    wall_s: float
    frames: int
    wakeups: int

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class SpinWindow(Window):
    setup_cpu_s: float = 0.0
    first_frames: int = 0  # flips of the first full draw (1 per spin)
    spins: int = 0


class TimedUi(KioskUI):
    """KioskUI, with the CPU time of each `draw()` that painted something (up to its flip)."""

    def __init__(self, surface: pygame.Surface) -> None:
        super().__init__(
            surface,
            locale="zh_CN",
            tz=samples.STORE_TZ,
            font_path=find_cjk_font(None),
            clock=lambda: dt.datetime.now(samples.STORE_TZ),
        )
        self.draw_cpu_s: list[float] = []
        self._pending: float | None = None

    def draw(self) -> list[pygame.Rect]:
        started = time.process_time()
        rects = super().draw()
        if rects:
            self._pending = started  # closed by the flip
        return rects

    def flipped(self) -> None:
        if self._pending is not None:
            self.draw_cpu_s.append(time.process_time() - self._pending)
            self._pending = None


class Bench:
    """One KioskUI and one UiLoop for the whole run, as in a running kiosk."""

    def __init__(self) -> None:
        self.ui = TimedUi(pygame.display.get_surface())
        self.states = samples.all_states()
        self.wakeups = 0
        self.loop = UiLoop(self.ui, on_intent=lambda intent: None, inputs=NoInputs(), flip=self._flip)
        self.loop.sleep = self._counted_sleep(self.loop.sleep)
        self.loop.wait_input = self._counted_wait(self.loop.wait_input)
        self.spins = 0

    def _flip(self, rects: list[pygame.Rect]) -> None:
        pygame.display.update(rects)
        self.ui.flipped()

    def _counted_sleep(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        def counted(seconds: float) -> None:
            sleep(seconds)
            self.wakeups += 1

        return counted

    def _counted_wait(
        self, wait: Callable[[float, Sequence[int]], list[int]]
    ) -> Callable[[float, Sequence[int]], list[int]]:
        def counted(seconds: float, fds: Sequence[int]) -> list[int]:
            ready = wait(seconds, fds)
            self.wakeups += 1
            return ready

        return counted

    def run_until(self, end: float) -> None:
        """Turn the real loop until monotonic `end` (its last wait is cut to end there)."""
        while (left := end - time.monotonic()) > 0:
            self.loop.step(max_wait_s=left)

    def still(self, name: str, seconds: float) -> Window:
        self.ui.show(self.states[STILL_STATES[name]])
        self.loop.step(max_wait_s=0)  # the first full draw: a screen change, not rest
        frames0, wakeups0 = self.loop.frames, self.wakeups
        cpu0, wall0 = time.process_time(), time.perf_counter()
        self.run_until(time.monotonic() + seconds)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return Window(cpu, wall, self.loop.frames - frames0, self.wakeups - wakeups0)

    def spin(self, count: int) -> tuple[SpinWindow, list[float]]:
        """`count` spins back to back; the CPU of each light frame's draw + flip."""
        turning = self.states["wheel_turning"]
        assert isinstance(turning, WheelSpin)
        total = SpinWindow(0.0, 0.0, 0, 0)
        draws: list[float] = []
        for _ in range(count):
            self.spins += 1
            frames0, wakeups0 = self.loop.frames, self.wakeups
            cpu0, wall0 = time.process_time(), time.perf_counter()
            spun_at = time.monotonic()
            state = dataclasses.replace(turning, spin_id=f"S-{self.spins:04d}", spun_at=spun_at)
            self.ui.show(state)
            self.loop.step(max_wait_s=0)  # shows the wheel, segment 0 lit
            setup = time.process_time() - cpu0
            first = self.loop.frames - frames0
            drawn = len(self.ui.draw_cpu_s)
            self.run_until(spun_at + SPIN_SECONDS)
            total.cpu_s += time.process_time() - cpu0
            total.wall_s += time.perf_counter() - wall0
            total.frames += self.loop.frames - frames0
            total.wakeups += self.wakeups - wakeups0
            total.setup_cpu_s += setup
            total.first_frames += first
            total.spins += 1
            draws += self.ui.draw_cpu_s[drawn:]
        return total, draws


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(rounds: int, seconds: float, spins: int) -> dict[str, Any]:
    bench = Bench()
    idle_screen = bench.states["idle"]
    bench.ui.show(idle_screen)
    idle_parts = sorted(type(part).__name__ for part in (bench.ui.screen.dynamic if bench.ui.screen else []))
    windows: dict[str, list[Window]] = {name: [] for name in SCENARIOS}
    spin_windows: list[SpinWindow] = []
    draws: list[float] = []
    for r in range(rounds):
        order = SCENARIOS[r % len(SCENARIOS) :] + SCENARIOS[: r % len(SCENARIOS)]
        for name in order:
            if name == "wheel_spin":
                window, frame_draws = bench.spin(spins)
                spin_windows.append(window)
                windows[name].append(window)
                draws += frame_draws
            else:
                windows[name].append(bench.still(name, seconds))
        line = "  ".join(f"{n} {windows[n][-1].cpu_pct:5.2f}% {windows[n][-1].frames:3d}f" for n in SCENARIOS)
        print(f"round {r + 1}/{rounds}: {line}", flush=True)

    def pct(name: str) -> float:
        return round(median([w.cpu_pct for w in windows[name]]), 3)

    def per_s(name: str, what: str) -> float:
        return round(median([getattr(w, what) / w.wall_s for w in windows[name]]), 2)

    light_frames = [w.frames - w.first_frames for w in spin_windows]
    figures: dict[str, Any] = {
        "wheel_spin_cpu_pct": pct("wheel_spin"),
        "wheel_spin_frames_per_s": per_s("wheel_spin", "frames"),
        "wheel_rest_cpu_pct": pct("wheel_rest"),
        "idle_cpu_pct": pct("idle"),
        "member_cpu_pct": pct("member"),
        "wheel_spin_cpu_ms": round(median([1e3 * w.cpu_s / w.spins for w in spin_windows]), 2),
        "wheel_spin_setup_ms": round(median([1e3 * w.setup_cpu_s / w.spins for w in spin_windows]), 2),
        "wheel_frame_cpu_ms": round(
            median([1e3 * (w.cpu_s - w.setup_cpu_s) / f for w, f in zip(spin_windows, light_frames) if f > 0]), 3
        ),
        "wheel_frame_draw_ms": round(1e3 * median(draws), 3),
        "wheel_spin_frames": round(median([w.frames / w.spins for w in spin_windows]), 1),
        "wheel_spin_wakeups_per_s": per_s("wheel_spin", "wakeups"),
        "idle_frames_per_s": per_s("idle", "frames"),
        "idle_wakeups_per_s": per_s("idle", "wakeups"),
        "wheel_rest_frames_per_s": per_s("wheel_rest", "frames"),
        "wheel_rest_wakeups_per_s": per_s("wheel_rest", "wakeups"),
        "member_frames_per_s": per_s("member", "frames"),
        "member_wakeups_per_s": per_s("member", "wakeups"),
        "wheel_rest_frames_after_first": sum(w.frames for w in windows["wheel_rest"]),
        "member_frames_after_first": sum(w.frames for w in windows["member"]),
        "idle_dynamic_parts": idle_parts,
        "spins": sum(w.spins for w in spin_windows),
        "rounds": rounds,
        "seconds_per_still_window": seconds,
        "spin_seconds": SPIN_SECONDS,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=6.0, help="per still scenario and round")
    parser.add_argument("--spins", type=int, default=2, help="spins per round")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 s windows, 1 spin (CI)")
    args = parser.parse_args(argv)
    if args.quick or os.environ.get("KIOSK_BENCH_QUICK") == "1":
        args.rounds, args.seconds, args.spins = 2, 1.0, 1
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode(PANEL)
    machine = describe()
    print(f"SDL video driver: {pygame.display.get_driver()}, panel {PANEL[0]}x{PANEL[1]}")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"{args.rounds} rounds of: {args.seconds:g} s per still screen, {args.spins} spin(s) of {SPIN_SECONDS:g} s")
    figures = run(args.rounds, args.seconds, args.spins)
    pygame.quit()
    print(json.dumps(figures, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
