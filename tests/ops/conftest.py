"""Fixtures for the operations tests: a fake systemd notify socket and a movable clock."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
from typing import Iterator

import pytest


class FakeNotifySocket:
    """A real AF_UNIX datagram socket standing in for systemd's $NOTIFY_SOCKET.

    Like the service manager it reads continuously (in a thread): the kernel queues only a few
    datagrams per socket, and a sender whose datagrams go unread blocks.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._inbox: queue.Queue[dict[str, str]] = queue.Queue()
        self._closing = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self._sock.settimeout(0.1)
        while not self._closing:
            try:
                data = self._sock.recv(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._inbox.put(dict(line.split("=", 1) for line in data.decode().split("\n")))

    def drain(self, wait_s: float = 0.0) -> list[dict[str, str]]:
        """Every message received so far (waiting up to `wait_s` for the first one)."""
        got: list[dict[str, str]] = []
        try:
            got.append(self._inbox.get(timeout=wait_s) if wait_s > 0 else self._inbox.get_nowait())
        except queue.Empty:
            return got
        # A burst sent just before may still be in flight; a short grace collects the rest.
        while True:
            try:
                got.append(self._inbox.get(timeout=0.05))
            except queue.Empty:
                return got

    def close(self) -> None:
        self._closing = True
        self._reader.join(timeout=5)
        self._sock.close()


@pytest.fixture
def notify_socket() -> Iterator[FakeNotifySocket]:
    # AF_UNIX paths are limited to 108 bytes, so keep it short rather than under tmp_path.
    directory = tempfile.mkdtemp(prefix="kn", dir="/tmp")
    fake = FakeNotifySocket(os.path.join(directory, "notify"))
    try:
        yield fake
    finally:
        fake.close()
        shutil.rmtree(directory, ignore_errors=True)


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def fake_monotonic() -> FakeClock:
    return FakeClock()
