"""Play systemd's side of sd_notify for a benchmark: receive and timestamp every message.

The kiosk sends "READY=1" when it is up and "STATUS=<screen>, ..." right after a display flip,
as datagrams to $NOTIFY_SOCKET. A thread reads them as they come, because a unix datagram queue
holds only a handful of messages (net.unix.max_dgram_qlen, 10 by default) and a sender blocks or
drops when it is full, and stamps each with CLOCK_MONOTONIC at receipt, which is the same clock
in every process on Linux.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class NotifyTimeout(TimeoutError):
    """No matching notify message arrived in time."""


@dataclass(frozen=True)
class NotifyMessage:
    at: float  # time.monotonic() when received
    text: str

    def status(self) -> str | None:
        """The STATUS= line of the message, if it has one."""
        for line in self.text.splitlines():
            if line.startswith("STATUS="):
                return line[len("STATUS=") :]
        return None


class NotifySink:
    """A bound AF_UNIX datagram socket with a reader thread; use as a context manager."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[NotifyMessage] = []
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path.exists():
            path.unlink()
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._read, name="notify-sink", daemon=True)
        self._thread.start()

    def __enter__(self) -> NotifySink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        self._sock.close()

    def _read(self) -> None:
        while self._running:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            message = NotifyMessage(time.monotonic(), data.decode("utf-8", "replace"))
            with self._cond:
                self.messages.append(message)
                self._cond.notify_all()

    def mark(self) -> int:
        """An index to wait from: only messages received after this call count."""
        with self._cond:
            return len(self.messages)

    def wait(
        self,
        predicate: Callable[[NotifyMessage], bool],
        *,
        since: int,
        timeout_s: float,
        alive: Callable[[], bool] = lambda: True,
    ) -> NotifyMessage:
        """The first message from index `since` on that matches; NotifyTimeout if none in time.

        `alive` is checked while waiting, so a sender that died fails fast instead of at the timeout.
        """
        deadline = time.monotonic() + timeout_s
        index = since
        with self._cond:
            while True:
                while index < len(self.messages):
                    message = self.messages[index]
                    index += 1
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotifyTimeout(
                        f"no matching notify message in {timeout_s:.1f} s; last: {[m.text for m in self.messages[-3:]]}"
                    )
                if not alive():
                    raise NotifyTimeout("the process sending notify messages has exited")
                self._cond.wait(min(remaining, 0.5))


def is_ready(message: NotifyMessage) -> bool:
    return "READY=1" in message.text.splitlines()


def shows(screen: str) -> Callable[[NotifyMessage], bool]:
    """Predicate: the message's STATUS names `screen` first ("member, offline, outbox 0")."""

    def predicate(message: NotifyMessage) -> bool:
        status = message.status()
        return status is not None and status.split(",", 1)[0] == screen

    return predicate
