"""Play systemd for the real `kiosk run` process: Type=notify, WatchdogSec=, Restart=always.

What the unit in docs/operations.md asks of systemd, done here for a benchmark:
- start the kiosk with $NOTIFY_SOCKET and $WATCHDOG_USEC (no $WATCHDOG_PID: the PID is not known
  before the spawn, and app/notify.py arms the watchdog when WATCHDOG_PID is absent);
- the start is complete at READY=1 (TimeoutStartSec: `start_timeout_s`); from then on a missing
  WATCHDOG=1 for longer than the period is a hung kiosk: like systemd, send SIGABRT followed by
  SIGCONT (so a stopped process receives it), SIGKILL after `kill_grace_s`, then restart;
- whatever way the process ended (killed by the chaos nemesis, crashed, aborted by the watchdog),
  start it again after `restart_s` (RestartSec), until `stop()`.

The notify socket is read by bench.notify_sink's thread. A killed kiosk is reaped before the next
one starts, so every message after a start belongs to that start's process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.notify_sink import NotifySink

_LOG = logging.getLogger(__name__)


@dataclass
class UnitCounters:
    starts: int = 0
    watchdog_kills: int = 0  # pings stopped for longer than the period
    start_timeouts: int = 0  # no READY=1 within start_timeout_s
    unexpected_exits: list[int] = field(default_factory=list)  # exit codes nobody asked for
    startup_s: list[float] = field(default_factory=list)


class KioskUnit:
    """One supervised kiosk process; `argv` runs it, `env` adds to os.environ."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        notify_path: Path,
        log_path: Path,
        watchdog_s: float,
        restart_s: float = 1.0,
        start_timeout_s: float = 90.0,
        kill_grace_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.argv = argv
        self.cwd = cwd
        self.sink = NotifySink(notify_path)
        self.env = {
            **os.environ,
            **env,
            "NOTIFY_SOCKET": str(notify_path),
            "WATCHDOG_USEC": str(int(watchdog_s * 1_000_000)),
        }
        self.env.pop("WATCHDOG_PID", None)
        self.log_path = log_path
        self.watchdog_s = watchdog_s
        self.restart_s = restart_s
        self.start_timeout_s = start_timeout_s
        self.kill_grace_s = kill_grace_s
        self.counters = UnitCounters()
        self._clock = clock
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._expected_exit = False
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="kiosk-unit", daemon=True)
        self.generation = 0  # bumped on every start

    # --- control ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """`systemctl stop`: SIGTERM, wait, SIGKILL if it does not finish. Returns the exit code."""
        self._stopping.set()
        self._thread.join(timeout=10)
        with self._lock:
            proc = self._proc
            if proc is None:
                return None
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)  # a paused kiosk must be able to see the SIGTERM
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            self._proc = None
        self.sink.close()
        return code

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def signal(self, signum: int) -> bool:
        """Send a signal as the chaos nemesis; the exit that may follow is expected. False if down."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGABRT):
                self._expected_exit = True
            os.kill(self._proc.pid, signum)
            return True

    # --- supervision ------------------------------------------------------------------------------
    def _spawn(self) -> None:
        with self._lock:
            self._ready.clear()
            self._expected_exit = False
            self._mark = self.sink.mark()
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=log)
            self._started = self._clock()
            self._last_ping: float | None = None
            self.generation += 1
            self.counters.starts += 1

    def _scan_notify(self) -> None:
        """Look at the messages since the last scan: READY and WATCHDOG pings of this start."""
        messages = self.sink.messages
        while self._mark < len(messages):
            message = messages[self._mark]
            self._mark += 1
            lines = message.text.splitlines()
            if "READY=1" in lines and not self._ready.is_set():
                self.counters.startup_s.append(message.at - self._started)
                self._ready.set()
                self._last_ping = message.at  # the watchdog is armed once the start is complete
            if "WATCHDOG=1" in lines:
                self._last_ping = message.at

    def _supervise(self) -> None:
        while not self._stopping.wait(0.05):
            with self._lock:
                proc = self._proc
                assert proc is not None
                code = proc.poll()
                if code is None:
                    self._scan_notify()
                    now = self._clock()
                    if not self._ready.is_set() and now - self._started > self.start_timeout_s:
                        _LOG.warning("kiosk did not report READY in %.0f s: killing it", self.start_timeout_s)
                        self.counters.start_timeouts += 1
                        self._abort(proc)
                    elif self._last_ping is not None and now - self._last_ping > self.watchdog_s:
                        _LOG.info("watchdog: no ping for %.1f s: aborting pid %d", now - self._last_ping, proc.pid)
                        self.counters.watchdog_kills += 1
                        self._abort(proc)
                    continue
                if not self._expected_exit:
                    self.counters.unexpected_exits.append(code)
                    _LOG.warning("kiosk exited on its own with %s", code)
                self._ready.clear()
            if self._stopping.wait(self.restart_s):
                return
            with self._lock:
                self._spawn()

    def _abort(self, proc: subprocess.Popen[bytes]) -> None:
        """systemd's watchdog action: SIGABRT (+SIGCONT), then SIGKILL after the grace period."""
        self._expected_exit = True
        try:
            os.kill(proc.pid, signal.SIGABRT)
            os.kill(proc.pid, signal.SIGCONT)
            proc.wait(timeout=self.kill_grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            proc.wait()


def kiosk_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "app", "run", "--config", str(config)]
