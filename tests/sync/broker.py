"""A real Mosquitto for the integration tests: free loopback port, generated config, kill/restart,
freeze/thaw.

Persistence is off on purpose: restarting the broker loses every session and queued message,
which is the harsh case the relay must survive. `freeze` (SIGSTOP) is the other harsh case: the
TCP connections stay open and the kernel still completes new handshakes, but nothing answers, as
with a hung broker or a network that silently drops packets; only keepalive can tell.
"""

from __future__ import annotations

import getpass
import itertools
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = Path("/usr/sbin/mosquitto")

# Under pytest-xdist every worker takes its ports from a block of its own, below the kernel's
# ephemeral range (32768 and up by default, where bind(0) and outgoing connections take theirs).
# A port is only free until the broker binds it, and a broker killed and restarted keeps its port
# free in between: with bind(0) another worker could be handed that port meanwhile.
_WORKER_PORT_BASE = 10000
_WORKER_PORT_BLOCK = 200
_worker_offsets = itertools.count(random.randrange(_WORKER_PORT_BLOCK))


def _worker_index() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback TCP port nobody listens on (and, under xdist, one no other worker hands out)."""
    index = _worker_index()
    if index is not None and _WORKER_PORT_BASE + (index + 1) * _WORKER_PORT_BLOCK <= 32768:
        first = _WORKER_PORT_BASE + index * _WORKER_PORT_BLOCK
        for _ in range(_WORKER_PORT_BLOCK):
            port = first + next(_worker_offsets) % _WORKER_PORT_BLOCK
            if _bindable(port):
                return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mosquitto:
    def __init__(self, folder: Path, *, extra_config: str = "", allow_anonymous: bool = True) -> None:
        self.folder = folder
        self.port = free_port()
        self.host = "127.0.0.1"
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        # As root Mosquitto drops to user "mosquitto", which cannot read tmp_path; stay ourselves.
        self.config.write_text(
            f"user {getpass.getuser()}\n"
            "persistence false\n"
            "per_listener_settings false\n"
            f"allow_anonymous {'true' if allow_anonymous else 'false'}\n"
            "max_queued_messages 1000000\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"listener {self.port} 127.0.0.1\n" + extra_config
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._frozen = False

    def start(self) -> None:
        log = open(self.log, "ab")
        self._proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not open its port")

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        """SIGSTOP: sockets stay open, the kernel buffers what clients send, no one answers."""
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError("mosquitto is not running")
        os.kill(self._proc.pid, signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT: the broker reads everything that piled up while it was stopped."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)
        self._frozen = False

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no will flushing beyond what the OS does (also when frozen:
        SIGKILL ends a stopped process)."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None
        self._frozen = False

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        """SIGTERM and wait; a frozen broker is continued first, or it would never act on it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            if self._frozen:
                self.thaw()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None
        self._frozen = False
