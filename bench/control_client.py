"""Client of the simulation control socket (app/sim_control.py): JSON lines over a unix stream.

The baseline kiosk (bench/baseline_kiosk.py) answers the same protocol for "tap" and "remove",
so one client drives both.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any


class ControlError(RuntimeError):
    """The control socket refused a command or answered something unreadable."""


class ControlClient:
    def __init__(self, path: Path, *, connect_timeout_s: float = 10.0, reply_timeout_s: float = 15.0):
        deadline = time.monotonic() + connect_timeout_s
        while True:  # the socket appears a moment after READY on some start-up paths
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise ControlError(f"no control socket at {path}") from None
                time.sleep(0.05)
        sock.settimeout(reply_timeout_s)
        self._sock = sock
        self._stream = sock.makefile("rwb")

    def ask(self, **command: Any) -> dict[str, Any]:
        """The reply as it came, refusals ({"ok": false, ...}) included; ControlError if none came."""
        self._stream.write(json.dumps(command).encode() + b"\n")
        self._stream.flush()
        line = self._stream.readline()
        if not line:
            raise ControlError(f"control socket closed after {command}")
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise ControlError(f"unreadable reply {line[:200]!r}") from exc
        if not isinstance(reply, dict):
            raise ControlError(f"unreadable reply {line[:200]!r}")
        return reply

    def send(self, **command: Any) -> dict[str, Any]:
        reply = self.ask(**command)
        if not reply.get("ok"):
            raise ControlError(f"{command} refused: {reply}")
        return reply

    def close(self) -> None:
        self._stream.close()
        self._sock.close()
