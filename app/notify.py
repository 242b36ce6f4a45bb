"""Talk to systemd's service manager: readiness, watchdog pings, status lines, stopping.

The protocol (sd_notify(3)) is a newline-separated list of ``KEY=VALUE`` assignments sent as one
datagram to the AF_UNIX socket named by ``$NOTIFY_SOCKET``. It is small enough to speak with the
standard ``socket`` module, so the kiosk needs no libsystemd binding. Outside systemd (a laptop,
CI, a shell on the Pi) ``$NOTIFY_SOCKET`` is unset and every call is a quiet no-op.

`MainLoopWatchdog` is the piece that matters for a kiosk nobody watches: the main loop calls
``beat()`` once per iteration and the watchdog pings systemd at most every half period. A stuck
loop stops calling ``beat()``, the pings stop, and systemd kills and restarts the service. That is
why the pings must never come from a side thread, which would keep pinging while the loop hangs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

from app.errors import AppError

_LOG = logging.getLogger(__name__)

#: Ping this many times per watchdog period: systemd's own advice is "half the period".
PINGS_PER_PERIOD = 2

#: Longest a single notify message may block the caller.
SEND_TIMEOUT_S = 1.0


class NotifyError(AppError, OSError):
    """The notify socket address in the environment is unusable."""


def _socket_address(raw: str) -> str | bytes:
    """Turn ``$NOTIFY_SOCKET`` into an address for ``sendto``.

    A leading "@" names a socket in the Linux abstract namespace, spelled with a NUL byte.
    """
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    if not raw.startswith("/"):
        # systemd 252 also allows vsock:CID:PORT; a kiosk never runs in a VM guest like that.
        raise NotifyError(f"unsupported NOTIFY_SOCKET address {raw!r}")
    return raw


def watchdog_period_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog period systemd asked for, in seconds, or None if no watchdog applies to us.

    ``$WATCHDOG_USEC`` carries the period; ``$WATCHDOG_PID``, when set, names the process the
    watchdog is meant for (a child that inherited the environment must not ping for its parent).
    """
    env = os.environ if environ is None else environ
    raw_usec = env.get("WATCHDOG_USEC", "").strip()
    if not raw_usec:
        return None
    raw_pid = env.get("WATCHDOG_PID", "").strip()
    if raw_pid:
        try:
            if int(raw_pid) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            _LOG.warning("ignoring malformed WATCHDOG_PID=%r", raw_pid)
            return None
    try:
        usec = int(raw_usec)
    except ValueError:
        _LOG.warning("ignoring malformed WATCHDOG_USEC=%r", raw_usec)
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000


def recommended_ping_interval_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """How often to ping: half the watchdog period (None when no watchdog is armed)."""
    period = watchdog_period_s(environ, pid)
    return None if period is None else period / PINGS_PER_PERIOD


def status_line(screen: str, online: bool, outbox: int, reader: str | None = None) -> str:
    """The one-line summary a technician reads in ``systemctl status``.

    >>> status_line("idle", True, 0)
    'idle, online, outbox 0'
    >>> status_line("member", False, 12, reader="fault")
    'member, offline, outbox 12, reader fault'
    """
    parts = [screen, "online" if online else "offline", f"outbox {outbox}"]
    if reader and reader != "ok":
        parts.append(f"reader {reader}")
    return ", ".join(parts)


class Notifier:
    """Sends sd_notify messages; does nothing when not started by systemd with Type=notify."""

    def __init__(self, socket_path: str | None) -> None:
        self._address = _socket_address(socket_path) if socket_path else None
        self._sock: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines as one datagram; True if the manager got it.

        Failures are logged and swallowed: losing a status line must never take the kiosk down.
        A lost WATCHDOG=1 is harmless too, as the next iteration of the main loop sends another.
        """
        if self._address is None:
            return False
        for line in assignments:
            if "\n" in line or "=" not in line:
                raise ValueError(f"not a single KEY=VALUE assignment: {line!r}")
        payload = "\n".join(assignments).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # The kernel queues few datagrams per socket; if the manager is not reading,
                # give up after a moment instead of hanging the main loop on a status line.
                self._sock.settimeout(SEND_TIMEOUT_S)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            _LOG.warning("sd_notify failed (%s): %s", exc.__class__.__name__, exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """The reader, ledger and display are up: systemd moves the unit to "active"."""
        lines = ["READY=1"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
        return self.send(*lines)

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start-up (or stop) time, e.g. while a slow reader reset is retried."""
        return self.send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def stopping(self, status: str | None = None) -> bool:
        lines = ["STOPPING=1"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
        return self.send(*lines)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _one_line(text: str) -> str:
    # A newline would start a new assignment and could smuggle in READY=1 or the like.
    return " ".join(text.split())


class MainLoopWatchdog:
    """Pings systemd's watchdog only while the main loop keeps going round.

    Call ``beat()`` once per main-loop iteration (it is cheap: one clock read). It sends
    WATCHDOG=1 when at least ``interval_s`` has passed since the last ping. Optional liveness
    checks (``require``) let the loop also vouch for parts it depends on, e.g. "the reader thread
    delivered an event or a health tick recently"; while any check fails, pings are withheld and
    systemd restarts the kiosk once the period runs out.

    ``status()`` forwards STATUS= only when the text changed, so calling it every iteration is fine.
    """

    def __init__(
        self,
        notifier: Notifier,
        interval_s: float | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s is not None and interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._notifier = notifier
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._last_ping: float | None = None
        self._last_status: str | None = None
        self._checks: dict[str, Callable[[], bool]] = {}
        self._withheld_by: str | None = None
        self.pings_sent = 0

    @classmethod
    def from_environ(
        cls,
        notifier: Notifier,
        environ: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> MainLoopWatchdog:
        return cls(notifier, recommended_ping_interval_s(environ), monotonic)

    @property
    def armed(self) -> bool:
        return self._interval_s is not None and self._notifier.enabled

    @property
    def interval_s(self) -> float | None:
        return self._interval_s

    def require(self, name: str, check: Callable[[], bool]) -> None:
        """Withhold pings whenever ``check()`` is false (or raises)."""
        self._checks[name] = check

    def beat(self) -> bool:
        """The main loop made one more round. Returns True if a ping went out now."""
        if not self.armed:
            return False
        interval_s = self._interval_s
        assert interval_s is not None  # armed implies an interval
        now = self._monotonic()
        if self._last_ping is not None and now - self._last_ping < interval_s:
            return False
        failing = self._failing_check()
        if failing is not None:
            if failing != self._withheld_by:
                _LOG.error("withholding watchdog pings: liveness check %r fails", failing)
                self._withheld_by = failing
            return False
        if self._withheld_by is not None:
            _LOG.info("liveness check %r passes again; watchdog pings resume", self._withheld_by)
            self._withheld_by = None
        if self._notifier.watchdog():
            self._last_ping = now
            self.pings_sent += 1
            return True
        return False

    def status(self, text: str) -> bool:
        if text == self._last_status:
            return False
        self._last_status = text
        return self._notifier.status(text)

    def _failing_check(self) -> str | None:
        for name, check in self._checks.items():
            try:
                if not check():
                    return name
            except Exception:  # a broken check must fail closed, not kill the loop
                _LOG.exception("liveness check %r raised", name)
                return name
        return None
