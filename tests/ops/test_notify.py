"""sd_notify over a fake $NOTIFY_SOCKET: readiness, status, watchdog pings that stop when the loop stalls."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from app.notify import (
    MainLoopWatchdog,
    Notifier,
    NotifyError,
    recommended_ping_interval_s,
    status_line,
    watchdog_period_s,
)

REPO = Path(__file__).resolve().parents[2]


# --- the notify messages themselves -------------------------------------------------------


def test_ready_sends_ready_with_the_first_status_line(notify_socket):
    with Notifier(notify_socket.path) as notifier:
        assert notifier.ready(status="idle, online, outbox 0")
    [msg] = notify_socket.drain(wait_s=2)
    assert msg == {"READY": "1", "STATUS": "idle, online, outbox 0"}


def test_status_watchdog_and_stopping_each_arrive_as_one_datagram(notify_socket):
    with Notifier(notify_socket.path) as notifier:
        notifier.status("idle, offline, outbox 3")
        notifier.watchdog()
        notifier.stopping(status="shutting down")
    msgs = notify_socket.drain(wait_s=2)
    assert msgs == [
        {"STATUS": "idle, offline, outbox 3"},
        {"WATCHDOG": "1"},
        {"STOPPING": "1", "STATUS": "shutting down"},
    ]


def test_a_newline_in_a_status_cannot_smuggle_in_another_assignment(notify_socket):
    with Notifier(notify_socket.path) as notifier:
        notifier.status("reader fault\nREADY=1")
    [msg] = notify_socket.drain(wait_s=2)
    assert msg == {"STATUS": "reader fault READY=1"}


def test_send_refuses_something_that_is_not_one_assignment(notify_socket):
    with Notifier(notify_socket.path) as notifier:
        with pytest.raises(ValueError):
            notifier.send("READY=1\nWATCHDOG=1")
        with pytest.raises(ValueError):
            notifier.send("READY")


def test_abstract_namespace_socket_names_are_understood():
    name = f"kiosk-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2)
    try:
        with Notifier(f"@{name}") as notifier:
            assert notifier.watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_without_notify_socket_every_call_is_a_quiet_no_op():
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_a_vanished_manager_socket_is_logged_not_raised(tmp_path, caplog):
    notifier = Notifier(str(tmp_path / "nobody-listens"))
    assert notifier.watchdog() is False
    assert "sd_notify failed" in caplog.text


def test_an_unsupported_address_is_a_clear_error():
    with pytest.raises(NotifyError):
        Notifier("vsock:2:1234")


def test_status_line_reads_like_a_technician_expects():
    assert status_line("idle", True, 0) == "idle, online, outbox 0"
    assert status_line("member", False, 12, reader="fault") == "member, offline, outbox 12, reader fault"
    assert status_line("idle", True, 1, reader="ok") == "idle, online, outbox 1"


# --- WATCHDOG_USEC / WATCHDOG_PID -----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "period"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 30.0),  # meant for us
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "thirty"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
    ],
)
def test_watchdog_period_comes_from_the_environment(env, period):
    assert watchdog_period_s(env, pid=4242) == period


def test_recommended_ping_interval_is_half_the_period():
    assert recommended_ping_interval_s({"WATCHDOG_USEC": "20000000"}, pid=1) == 10.0
    assert recommended_ping_interval_s({}, pid=1) is None


# --- MainLoopWatchdog -----------------------------------------------------------------------


def watchdog_msgs(msgs):
    return [m for m in msgs if m.get("WATCHDOG") == "1"]


def test_main_loop_beats_turn_into_pings_at_most_once_per_interval(notify_socket, fake_monotonic):
    wd = MainLoopWatchdog(Notifier(notify_socket.path), interval_s=10.0, monotonic=fake_monotonic)
    sent = []
    for _ in range(100):  # 100 iterations of 0.5 s = 50 s of loop
        sent.append(wd.beat())
        fake_monotonic.advance(0.5)
    assert sum(sent) == 5  # at 0, 10, 20, 30, 40 s
    assert len(watchdog_msgs(notify_socket.drain(wait_s=2))) == 5


def test_a_stalled_main_loop_stops_the_pings(notify_socket, fake_monotonic):
    """A real loop thread hangs in an event handler; time runs on and no ping may reach systemd."""
    wd = MainLoopWatchdog(Notifier(notify_socket.path), interval_s=1.0, monotonic=fake_monotonic)
    events: queue.Queue[str] = queue.Queue()
    handled = threading.Semaphore(0)
    release = threading.Event()

    def main_loop() -> None:
        while True:
            event = events.get()
            if event == "hang":
                release.wait()  # e.g. a blocking call that never returns
            if event == "quit":
                return
            wd.beat()
            handled.release()

    thread = threading.Thread(target=main_loop, daemon=True)
    thread.start()
    try:
        for _ in range(5):  # healthy: one event per second of (fake) time
            fake_monotonic.advance(1.0)
            events.put("tick")
            assert handled.acquire(timeout=10)
        assert len(watchdog_msgs(notify_socket.drain(wait_s=2))) == 5
        events.put("hang")
        for _ in range(120):  # two minutes of events pile up behind the hung handler
            fake_monotonic.advance(1.0)
            events.put("tick")
        assert not handled.acquire(timeout=0.3)
        assert notify_socket.drain(wait_s=0.3) == []
    finally:
        release.set()
        events.put("quit")
        thread.join(timeout=5)


def test_a_failing_liveness_check_withholds_pings_until_it_passes(notify_socket, fake_monotonic):
    wd = MainLoopWatchdog(Notifier(notify_socket.path), interval_s=1.0, monotonic=fake_monotonic)
    reader_alive = {"ok": True}
    wd.require("reader thread", lambda: reader_alive["ok"])
    assert wd.beat()
    reader_alive["ok"] = False
    for _ in range(10):
        fake_monotonic.advance(1.0)
        assert not wd.beat()
    reader_alive["ok"] = True
    fake_monotonic.advance(1.0)
    assert wd.beat()
    assert len(watchdog_msgs(notify_socket.drain(wait_s=2))) == 2


def test_a_liveness_check_that_raises_fails_closed(notify_socket, fake_monotonic):
    wd = MainLoopWatchdog(Notifier(notify_socket.path), interval_s=1.0, monotonic=fake_monotonic)

    def broken() -> bool:
        raise RuntimeError("boom")

    wd.require("broken", broken)
    assert not wd.beat()
    assert notify_socket.drain(wait_s=0.2) == []


def test_status_is_forwarded_only_when_it_changes(notify_socket, fake_monotonic):
    wd = MainLoopWatchdog(Notifier(notify_socket.path), interval_s=None, monotonic=fake_monotonic)
    for text in ["idle, online, outbox 0"] * 3 + ["idle, online, outbox 1"] * 2:
        wd.status(text)
    assert notify_socket.drain(wait_s=2) == [
        {"STATUS": "idle, online, outbox 0"},
        {"STATUS": "idle, online, outbox 1"},
    ]


def test_no_pings_without_a_watchdog_period(notify_socket, fake_monotonic):
    wd = MainLoopWatchdog.from_environ(Notifier(notify_socket.path), {}, fake_monotonic)
    assert not wd.armed
    assert not wd.beat()
    assert notify_socket.drain(wait_s=0.2) == []


# --- the protocol from a separate process, as systemd sees it -------------------------------

_CHILD = textwrap.dedent(
    """
    import time
    from app.notify import MainLoopWatchdog, Notifier
    notifier = Notifier.from_environ()
    wd = MainLoopWatchdog.from_environ(notifier)
    notifier.ready(status="idle, online, outbox 0")
    for _ in range(40):
        wd.beat()
        time.sleep(0.01)
    notifier.status("stalled")
    time.sleep(0.6)  # the hang: no beats, so no pings, for several intervals
    """
)


@pytest.mark.integration
def test_a_child_process_is_ready_pings_and_goes_quiet_when_its_loop_stalls(notify_socket):
    env = dict(os.environ, NOTIFY_SOCKET=notify_socket.path, WATCHDOG_USEC="40000", PYTHONPATH=str(REPO))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, timeout=60, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    msgs = notify_socket.drain(wait_s=2)
    assert msgs[0] == {"READY": "1", "STATUS": "idle, online, outbox 0"}
    stall = msgs.index({"STATUS": "stalled"})
    assert len(watchdog_msgs(msgs[:stall])) >= 2
    assert watchdog_msgs(msgs[stall:]) == []


@pytest.mark.integration
def test_a_child_that_inherited_another_process_watchdog_does_not_ping(notify_socket):
    env = dict(os.environ, NOTIFY_SOCKET=notify_socket.path, WATCHDOG_USEC="40000", PYTHONPATH=str(REPO))
    env["WATCHDOG_PID"] = str(os.getpid())  # the watchdog belongs to us, not the child
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, timeout=60, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert watchdog_msgs(notify_socket.drain(wait_s=2)) == []
