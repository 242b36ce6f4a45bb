"""Linux input devices (evdev) as descriptors that turn readable when a touch arrives.

On the Pi, SDL's KMSDRM driver reads the touch panel from /dev/input/event* itself, but it can
only be polled. evdev hands every event to every open client, so the kiosk opens the same device
files read-only as well, never interprets them, and waits on them with poll(): the UI loop sleeps
until a finger actually touches, then lets SDL read its own copies (screens/loop.py).

Devices come and go (a USB touch panel or a technician's keyboard): the directory is rescanned at
most every `rescan_s`, and a device that stops existing (read fails with ENODEV) is dropped.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_LOG = logging.getLogger(__name__)

INPUT_DIR = Path("/dev/input")
READ_CHUNK = 4096  # many 24-byte input_events; read until the device has nothing left


class EvdevInputs:
    def __init__(
        self, directory: Path = INPUT_DIR, *, rescan_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.directory = Path(directory)
        self.rescan_s = rescan_s
        self._monotonic = monotonic
        self._open: dict[str, int] = {}  # device file name -> descriptor
        self._next_scan = float("-inf")
        self._refused: set[str] = set()  # already logged as unreadable

    def fds(self) -> Sequence[int]:
        now = self._monotonic()
        if now >= self._next_scan:
            self._next_scan = now + self.rescan_s
            self._scan()
        return tuple(self._open.values())

    def drain(self, ready: Sequence[int]) -> None:
        by_fd = {fd: name for name, fd in self._open.items()}
        for fd in ready:
            name = by_fd.get(fd)
            if name is None:
                continue
            try:
                while os.read(fd, READ_CHUNK):
                    pass
                self._close(name, "closed its end")  # end of file: nothing more will come
            except BlockingIOError:
                pass  # drained
            except OSError as exc:  # ENODEV: unplugged
                self._close(name, os.strerror(exc.errno or errno.EIO))

    def close(self) -> None:
        for name in list(self._open):
            self._close(name, None)

    def _scan(self) -> None:
        try:
            names = sorted(p.name for p in self.directory.iterdir() if p.name.startswith("event"))
        except OSError:
            names = []
        for name in set(self._open) - set(names):
            self._close(name, "gone")
        for name in names:
            if name in self._open:
                continue
            try:
                self._open[name] = os.open(self.directory / name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                _LOG.info("waiting for input on %s", self.directory / name)
                self._refused.discard(name)
            except OSError as exc:
                if name not in self._refused:  # e.g. not in the `input` group: SDL could not read it either
                    self._refused.add(name)
                    _LOG.warning("cannot watch %s for input: %s", self.directory / name, exc.strerror)

    def _close(self, name: str, why: str | None) -> None:
        fd = self._open.pop(name)
        os.close(fd)
        if why is not None:
            _LOG.info("stopped watching %s: %s", self.directory / name, why)
