"""Instruction counts of another process with `valgrind --tool=callgrind`, window by window.

CPU seconds on a machine shared with other work move from run to run; the number of instructions
a process executes to do the same work does not. Hardware counters are not available here (no
`perf`), so the process runs under callgrind, which counts every user-space instruction it
executes (`Ir`; the kernel's work for its system calls is not in it).

The process starts with instrumentation off (`--instr-atstart=no`: start-up runs at a few times
native speed instead of ~50 times slower), and `callgrind_control` switches it on once the process
is ready. Each window is then: zero the counters, let the process work (idle for a number of
seconds, or one tap), dump: the dump's `totals:` line is the window's instruction count.

Under callgrind a process runs some 50 times slower. A process that sleeps most of the time (the
kiosk idles at ~1 % of a core) still does its timed work on time, so instructions per wall second
are what it executes natively (`valgrind_cpu_pct` says how busy it was under callgrind: far from
100 % means nothing was late). A process that is busy (the baseline's 30 fps loop) falls behind
under callgrind; its count is taken per loop turn instead (calls of one C function, e.g. the SDL
call behind each `pygame.display.flip()`) and multiplied by its native rate.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.procstat import cpu_seconds

CONTROL_TIMEOUT_S = 60.0


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def command_prefix(out_file: Path) -> list[str]:
    """Put this in front of a command line to run it under callgrind, instrumentation off."""
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_file}",
        "--quiet",
    ]


@dataclass(frozen=True)
class Window:
    instructions: int
    wall_s: float
    cpu_s: float
    #: calls of each C function asked for in `Callgrind.window(..., count_calls=...)`
    calls: dict[str, int]

    @property
    def per_s(self) -> float:
        return self.instructions / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


class Callgrind:
    """Drives callgrind inside process `pid`, started with `command_prefix(out_file)`."""

    def __init__(self, pid: int, out_file: Path) -> None:
        self.pid = pid
        self.out_file = out_file
        self._dumps = 0

    def _control(self, *args: str) -> None:
        subprocess.run(
            ["callgrind_control", *args, str(self.pid)],
            check=True,
            capture_output=True,
            timeout=CONTROL_TIMEOUT_S,
        )

    def instrument(self, on: bool) -> None:
        self._control("-i", "on" if on else "off")

    def begin(self) -> tuple[float, float]:
        """Zero the counters; (wall, cpu) at that moment, to be handed to `end`."""
        self._control("-z")
        return time.monotonic(), cpu_seconds(self.pid)

    def end(self, started: tuple[float, float], count_calls: tuple[str, ...] = ()) -> Window:
        """Dump the counters since `begin` and read them."""
        wall = time.monotonic() - started[0]
        cpu = cpu_seconds(self.pid) - started[1]
        self._control("-d")
        self._dumps += 1
        dump = Path(f"{self.out_file}.{self._dumps}")
        text = dump.read_text(encoding="utf-8", errors="replace")
        return Window(total_instructions(text), wall, cpu, {name: calls_to(text, name) for name in count_calls})

    def window(self, seconds: float, count_calls: tuple[str, ...] = ()) -> Window:
        started = self.begin()
        time.sleep(seconds)
        return self.end(started, count_calls)


_TOTALS = re.compile(r"^(?:totals|summary):\s*(\d+)", re.MULTILINE)


def total_instructions(dump: str) -> int:
    """The `totals:` (or `summary:`) figure of a callgrind dump with the single event Ir."""
    found = [int(m.group(1)) for m in _TOTALS.finditer(dump)]
    if not found:
        raise ValueError("no totals in the callgrind dump")
    return max(found)


_CFN = re.compile(r"^cfn=\((\d+)\)(?: (.*))?$")
_CALLS = re.compile(r"^calls=(\d+)")


def calls_to(dump: str, function: str) -> int:
    """How often `function` was called in a dump (callgrind compresses names: `cfn=(id) name` once,
    `cfn=(id)` afterwards; each `cfn=` line is followed by a `calls=` line)."""
    names: dict[str, str] = {}
    total = 0
    current: str | None = None
    for line in dump.splitlines():
        if line.startswith("fn=("):  # a function's own definition also names its id
            ident, _, name = line[4:].partition(")")
            if name.strip():
                names[ident] = name.strip()
            current = None
            continue
        match = _CFN.match(line)
        if match:
            ident, name = match.group(1), match.group(2)
            if name:
                names[ident] = name.strip()
            current = names.get(ident)
            continue
        calls = _CALLS.match(line)
        if calls and current is not None:
            if current == function:
                total += int(calls.group(1))
            current = None
    return total
