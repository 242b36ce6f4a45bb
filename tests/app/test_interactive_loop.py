"""`kiosk run` with a display (SDL dummy here): READY, STATUS and watchdog pings to systemd.

A real AF_UNIX datagram socket stands in for systemd's NOTIFY_SOCKET. The loop runs on the test's
main thread (as pygame requires); a timer thread taps a demo card, then posts QUIT.
"""

from __future__ import annotations

import socket
import threading
import time

import pygame
import pytest

from app.bootstrap import build_app
from app.runtime import _run_interactive
from kiosk.config import load_config
from tests.app.conftest import write_config

pytestmark = pytest.mark.integration


def test_interactive_run_notifies_systemd_and_pings_from_the_main_loop(tmp_path, monkeypatch):
    sock_path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(0.05)
    messages: list[str] = []
    listening = True

    def listen() -> None:  # systemd reads as it goes; a unix datagram queue holds only 10
        while listening:
            try:
                messages.append(server.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # ping every 0.2 s
    monkeypatch.setenv("WATCHDOG_PID", str(__import__("os").getpid()))
    from screens.loop import post_reader_event

    app = build_app(load_config(write_config(tmp_path), environ={}), wake=lambda: post_reader_event(None))

    def script() -> None:
        time.sleep(1.0)
        app.simulation.tap(1)
        time.sleep(1.0)
        pygame.event.post(pygame.event.Event(pygame.QUIT))

    threading.Thread(target=script, daemon=True).start()
    try:
        assert _run_interactive(app) == 0
    finally:
        app.close()
    time.sleep(0.2)
    listening = False
    listener.join()
    server.close()
    ready = [m for m in messages if "READY=1" in m]
    assert len(ready) == 1 and "STATUS=" in ready[0]
    assert sum("WATCHDOG=1" in m for m in messages) >= 5
    statuses = [m for m in messages if m.startswith("STATUS=")]
    assert any(s.startswith("STATUS=member,") for s in statuses), statuses  # the member screen after the tap
    assert any(m.startswith("STOPPING=1") for m in messages)
