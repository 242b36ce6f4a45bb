"""Another process seen from outside, through /proc: CPU time, resident memory, load.

Benchmarks measure the real kiosk process the way an operator would (top, ps), so nothing here
asks the process itself. `/proc/<pid>/stat` counts the CPU time of all of a process's threads.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class ProcessGone(ProcessLookupError):
    """The process exited while it was being measured."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of `pid`, in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            raw = stat.read()
    except FileNotFoundError:
        raise ProcessGone(f"process {pid} has exited") from None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS_PER_S


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of `pid`, in MiB."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) / 1024  # reported in kB
    except FileNotFoundError:
        raise ProcessGone(f"process {pid} has exited") from None
    return out


def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all of `pid`'s threads so far.

    While a process idles, nearly every switch is a thread waking from a sleep or a wait, so the
    rate says how often it wakes up, which is what idle CPU is made of.
    """
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        raise ProcessGone(f"process {pid} has exited") from None
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            continue  # a thread that ended between listdir and open
    return total


def load_average() -> float:
    """The 1-minute load average: other work on the machine shares its cores with ours."""
    return os.getloadavg()[0]


@dataclass
class CpuShare:
    """CPU share of one process over a wall-clock window, in percent of one core."""

    cpu_s: float
    wall_s: float
    load_before: float
    load_after: float
    switches: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def wakeups_per_s(self) -> float:
        return self.switches / self.wall_s if self.wall_s > 0 else 0.0


def measure_cpu_share(pid: int, seconds: float, sleep=time.sleep) -> CpuShare:
    """Sample the process's CPU time before and after `seconds` of wall time."""
    load_before = load_average()
    switches0, cpu0, wall0 = context_switches(pid), cpu_seconds(pid), time.monotonic()
    sleep(seconds)
    cpu1, wall1, switches1 = cpu_seconds(pid), time.monotonic(), context_switches(pid)
    return CpuShare(cpu1 - cpu0, wall1 - wall0, load_before, load_average(), switches1 - switches0)
