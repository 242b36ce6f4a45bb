"""Drive the real `kiosk run` process from outside: systemd's NOTIFY_SOCKET and the control socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.app.conftest import write_config


class Kiosk:
    def __init__(self, tmp_path: Path, **config_overrides: dict[str, Any]):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(tmp_path / "notify.sock"))
        self.notify.settimeout(0.2)
        self.control_path = tmp_path / "control.sock"
        env = {
            **os.environ,
            "SDL_VIDEODRIVER": "dummy",
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "KIOSK_SIM_CONTROL": str(self.control_path),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "run", "--config", str(write_config(tmp_path, **config_overrides))],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.statuses: list[str] = []
        self.control: socket.socket | None = None
        # Like systemd, read the notify socket all the time: its queue holds only 10 datagrams and
        # a full queue would stall the kiosk's main loop on every STATUS it sends.
        self._messages: list[str] = []
        self._seen = 0
        self._listening = True
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        while self._listening:
            try:
                self._messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def wait_notify(self, predicate, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._seen >= len(self._messages):
                assert self.proc.poll() is None, self.proc.stderr.read()
                time.sleep(0.01)
                continue
            message = self._messages[self._seen]
            self._seen += 1
            self.statuses.extend(line for line in message.splitlines() if line.startswith("STATUS="))
            if predicate(message):
                return message
        raise AssertionError(f"no such notify message; statuses {self.statuses}")

    def wait_status(self, prefix: str, timeout_s: float = 20.0) -> str:
        """Wait until a STATUS line starting with `prefix` has been sent (now or earlier).

        STATUS is only re-sent when it changes, so the one wanted may already be in the past.
        """
        wanted = f"STATUS={prefix}"
        for status in self.statuses:
            if status.startswith(wanted):
                return status
        message = self.wait_notify(lambda m: any(line.startswith(wanted) for line in m.splitlines()), timeout_s)
        return next(line for line in message.splitlines() if line.startswith(wanted))

    def send(self, **command) -> dict:
        if self.control is None:
            self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.control.connect(str(self.control_path))
            self.stream = self.control.makefile("rwb")
        self.stream.write(json.dumps(command).encode() + b"\n")
        self.stream.flush()
        return json.loads(self.stream.readline())

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self._listening = False
        self._listener.join()
        self.notify.close()
        if self.control is not None:
            self.control.close()
        return code
