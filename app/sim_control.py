"""A control socket for the simulation: tap demo cards and send intents from another process.

Benchmarks and the chaos suite drive the real `kiosk run` process through it, the way a shopper
would (cards into the emulated field, the same intents the touchscreen produces). Enabled only in
simulation and only when `$KIOSK_SIM_CONTROL` names a socket path; never on a device.

Protocol: one JSON object per line over a UNIX stream socket, one JSON reply per line.
    {"cmd": "tap", "key": 1}        -> {"ok": true}
    {"cmd": "remove"}               -> {"ok": true}
    {"cmd": "tap", "key": 1, "stamp": true}
                                    -> {"ok": true, "at_monotonic": 1234.567}
        (time.monotonic() when the card entered the field; CLOCK_MONOTONIC is the same clock in
        every process on Linux, so a benchmark can time from the card, not from its request)
    {"cmd": "state"}                -> {"ok": true, "screen": "member", "member_id": "M0001", ...}
    {"cmd": "intent", "intent": "open_rewards" | "choose" | "confirm" | "back" | "done" | "vouchers",
     "reward_id": "..."}            -> the state after it, as for "state" (an intent is a touch:
                                       the reader polls fast again, as after a real one)
    {"cmd": "presence", "near": true | false}
                                    -> {"ok": true}: the simulated presence sensor's output
                                       (used with reader.presence_pin; read by the reader at its polls)
Commands run on the kiosk's main thread (the UI loop), between frames; the socket thread only
parses and waits for the answer.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from kiosk.ui_state import (
    Back,
    ChooseReward,
    Confirm,
    ConfirmRedeem,
    Done,
    MyVouchers,
    Notice,
    OpenRewards,
    OpenVouchers,
    Rewards,
    VoucherIssued,
    screen_name,
)

_LOG = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0
MAX_LINE = 4096


class ControlServer:
    """Accepts control connections; commands are queued for the main thread to run."""

    def __init__(self, path: Path, wake: Callable[[], None]):
        self.path = path
        self.commands: queue.Queue[tuple[dict[str, Any], Future[dict[str, Any]]]] = queue.Queue()
        self._wake = wake
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="sim-control", daemon=True)

    def start(self) -> None:
        if self.path.exists():
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self._sock.listen(4)
        self._thread.start()
        _LOG.info("simulation control socket at %s", self.path)

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                if len(raw) > MAX_LINE:
                    reply: dict[str, Any] = {"ok": False, "error": "line too long"}
                else:
                    reply = self._ask(raw)
                stream.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                stream.flush()

    def _ask(self, raw: bytes) -> dict[str, Any]:
        try:
            command = json.loads(raw)
        except ValueError as exc:
            return {"ok": False, "error": f"not JSON: {exc}"}
        if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
            return {"ok": False, "error": "expected an object with a 'cmd' string"}
        future: Future[dict[str, Any]] = Future()
        self.commands.put((command, future))
        self._wake()
        try:
            return future.result(timeout=ANSWER_TIMEOUT_S)
        except TimeoutError:
            return {"ok": False, "error": "the kiosk did not answer in time"}


def describe(state: Any) -> dict[str, Any]:
    """The parts of a UiState a driver of the simulation needs (ids and figures, no names)."""
    out: dict[str, Any] = {"ok": True, "screen": screen_name(state), "online": getattr(state, "online", None)}
    member = getattr(state, "member", None)
    if member is not None:
        out.update(member_id=member.member_id, points=member.points)
    if isinstance(state, Rewards):
        out["rewards"] = [
            {"reward_id": o.reward_id, "cost": o.cost_points, "choosable": o.affordable and o.available}
            for o in state.options
        ]
    if isinstance(state, Confirm):
        out.update(intent_id=state.intent_id, reward_id=state.option.reward_id)
    if isinstance(state, VoucherIssued):
        out.update(voucher_id=state.voucher.voucher_id, code=state.voucher.code, offline=state.voucher.offline)
    if isinstance(state, MyVouchers):
        out["vouchers"] = [v.voucher_id for v in state.vouchers]
    if isinstance(state, Notice):
        out.update(notice=state.kind.value, detail=state.detail)
    return out


def run_command(app: Any, command: dict[str, Any]) -> dict[str, Any]:
    """Carry out one control command on the main thread."""
    cmd = command["cmd"]
    session = app.session
    if cmd == "tap":
        key = command.get("key")
        if not isinstance(key, int) or not app.simulation.tap(key):
            return {"ok": False, "error": f"no demo card {key!r}"}
        if command.get("stamp") is True:
            return {"ok": True, "at_monotonic": time.monotonic()}
        return {"ok": True}
    if cmd == "remove":
        app.simulation.remove()
        return {"ok": True}
    if cmd == "state":
        return describe(session.state)
    if cmd == "presence":
        near = command.get("near")
        if not isinstance(near, bool):
            return {"ok": False, "error": "presence needs near: true or false"}
        app.simulation.presence.near = near
        return {"ok": True}
    if cmd == "intent":
        app.reader_thread.activity()
        name = command.get("intent")
        if name == "open_rewards":
            session.handle(OpenRewards())
        elif name == "choose":
            session.handle(ChooseReward(str(command.get("reward_id"))))
        elif name == "confirm":
            state = session.state
            if not isinstance(state, Confirm):
                return {"ok": False, "error": "not on the confirm screen", **describe(state)}
            session.handle(ConfirmRedeem(state.intent_id))
        elif name == "back":
            session.handle(Back())
        elif name == "done":
            session.handle(Done())
        elif name == "vouchers":
            session.handle(OpenVouchers())
        else:
            return {"ok": False, "error": f"unknown intent {name!r}"}
        app.nudge_link()
        return describe(session.state)
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def drain(app: Any, server: ControlServer) -> bool:
    """Run every queued command; True if any ran (the screen may need redrawing)."""
    ran = False
    while True:
        try:
            command, future = server.commands.get_nowait()
        except queue.Empty:
            return ran
        try:
            future.set_result(run_command(app, command))
        except Exception as exc:  # noqa: BLE001 - a bad command must not take the kiosk down
            _LOG.exception("control command %r failed", command)
            future.set_result({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        ran = True


__all__ = ["ControlServer", "describe", "drain", "run_command"]
