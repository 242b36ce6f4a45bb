"""Whether the wall clock can be trusted for offline decisions: synchronised since boot, or set by an RTC.

A Raspberry Pi has no battery-backed clock (the Pi 5 has one only with its battery fitted). After a
power cut it boots with the time fake-hwclock or systemd saved at the last shutdown, which can be
hours or weeks behind, until systemd-timesyncd or chrony reaches an NTP server. Offline, the
kiosk decides alone on expiries, daily offline limits and signature validity windows, all by its
clock; with a clock known to be wrong it must not spend points (kiosk/cards/policy.py).

Sources, read on every question (each is a system call or a small file, far cheaper than a card
write):

- ``/run/systemd/timesync/synchronized``: systemd-timesyncd creates it at its first
  synchronisation after boot (it lives in /run, so a reboot clears it);
- the kernel's clock state from ``adjtimex(2)`` with ``modes = 0`` (read-only, no privilege): it
  returns ``TIME_ERROR`` while ``STA_UNSYNC`` is set, which both timesyncd and chronyd clear once
  they discipline the clock; ``timedatectl``'s ``NTPSynchronized`` is computed from the same call;
- ``/sys/class/rtc/rtc0/hctosys``: ``1`` when the kernel set the system clock from that RTC at boot.

The policy (config ``device.clock_policy``) says which of these make the clock trusted.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)

TIMESYNC_MARKER = Path("/run/systemd/timesync/synchronized")
RTC_HCTOSYS = Path("/sys/class/rtc/rtc0/hctosys")
#: adjtimex(2)'s answer while the kernel considers the clock unsynchronised.
TIME_ERROR = 5
#: struct timex is 208 bytes on 64-bit Linux and less on 32-bit: room for either, zeroed (modes = 0).
_TIMEX_BUFFER_BYTES = 512

#: config device.clock_policy values; "auto" is resolved by `effective_policy`.
POLICIES = ("auto", "sync_or_rtc", "sync", "ignore")


@dataclass(frozen=True)
class ClockStatus:
    """What the system says about its clock; None where it cannot tell."""

    synchronized: bool | None
    rtc_set_clock: bool | None

    def to_json(self) -> dict[str, Any]:
        return {"synchronized": self.synchronized, "rtc_set_clock": self.rtc_set_clock}


@dataclass(frozen=True)
class ClockVerdict:
    trusted: bool
    policy: str  # the effective policy: "sync_or_rtc", "sync" or "ignore"
    reason: str  # "synchronized", "rtc", "unknown", "ignored", "not_synchronized"

    def to_json(self) -> dict[str, Any]:
        return {"trusted": self.trusted, "policy": self.policy, "reason": self.reason}


def effective_policy(policy: str, reader_driver: str) -> str:
    """`auto`: `sync_or_rtc` with a real reader (a device), `ignore` with the emulator (a laptop, CI)."""
    if policy not in POLICIES:
        raise ValueError(f"clock policy must be one of {', '.join(POLICIES)} (got {policy!r})")
    if policy == "auto":
        return "ignore" if reader_driver == "emulator" else "sync_or_rtc"
    return policy


def judge(status: ClockStatus, policy: str) -> ClockVerdict:
    """Pure: trusted unless the clock is *known* not to be synchronised (and, for sync_or_rtc, no RTC set it)."""
    if policy == "ignore":
        return ClockVerdict(True, policy, "ignored")
    if status.synchronized is True:
        return ClockVerdict(True, policy, "synchronized")
    if policy == "sync_or_rtc" and status.rtc_set_clock is True:
        return ClockVerdict(True, policy, "rtc")
    if status.synchronized is None:
        # Nothing to go on (no adjtimex, a container): only a clock known to be wrong is refused.
        return ClockVerdict(True, policy, "unknown")
    return ClockVerdict(False, policy, "not_synchronized")


@functools.cache
def _adjtimex() -> Callable[[Any], int] | None:
    """libc's adjtimex, looked up once: each lookup builds a new ctypes function type (a class),
    which cost more instructions than everything else the idle kiosk did in a tick (bench.kiosk)."""
    try:
        function: Callable[[Any], int] = ctypes.CDLL(None, use_errno=True).adjtimex
    except (OSError, AttributeError):  # not Linux / no libc symbol
        return None
    return function


def kernel_clock_state() -> int | None:
    """adjtimex(2) read-only: TIME_OK (0) ... TIME_ERROR (5); None where the call is unavailable."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    buffer = ctypes.create_string_buffer(_TIMEX_BUFFER_BYTES)
    state = int(adjtimex(buffer))
    return None if state < 0 else state


def read_flag(path: Path) -> bool | None:
    """A sysfs 0/1 file as a bool; None when it is not there."""
    try:
        return path.read_text(encoding="ascii").strip() == "1"
    except (OSError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class ClockSource:
    """Reads `ClockStatus` from the system; every source injectable (tests, other distributions)."""

    timesync_marker: Path = TIMESYNC_MARKER
    rtc_hctosys: Path = RTC_HCTOSYS
    kernel_state: Callable[[], int | None] = kernel_clock_state

    def read(self) -> ClockStatus:
        synchronized: bool | None
        if self.timesync_marker.exists():
            synchronized = True
        else:
            state = self.kernel_state()
            synchronized = None if state is None else state != TIME_ERROR
        return ClockStatus(synchronized, read_flag(self.rtc_hctosys))


@dataclass(frozen=True)
class ClockTrust:
    """The predicate the composition root hands the domain: `trusted()` answers fresh every time."""

    source: Callable[[], ClockStatus]
    policy: str

    def status(self) -> ClockStatus:
        try:
            return self.source()
        except OSError as exc:  # a broken source must not stop redemptions on a healthy clock
            _LOG.warning("cannot read the clock's synchronisation state: %s", exc)
            return ClockStatus(None, None)

    def verdict(self) -> ClockVerdict:
        if self.policy == "ignore":  # the answer needs no status: do not read it (asked every tick)
            return judge(ClockStatus(None, None), self.policy)
        return judge(self.status(), self.policy)

    def report(self) -> dict[str, Any]:
        """Telemetry's `clock`: what the system says and what the policy makes of it."""
        status = self.status()
        return {**status.to_json(), **judge(status, self.policy).to_json()}

    def trusted(self) -> bool:
        return self.verdict().trusted
