"""EvdevInputs: the input device files the UI loop waits on instead of polling SDL.

There is no /dev/input on the test machine, so each "device" is a named pipe in a temporary
directory: a real descriptor that poll() reports readable when something is written, which is
all EvdevInputs relies on (it never parses the events; SDL reads its own copies).
"""

from __future__ import annotations

import logging
import os
import select
from pathlib import Path

import pytest

from drivers.input_devices import EvdevInputs


@pytest.fixture
def devices(tmp_path: Path) -> Path:
    for name in ("event0", "event1"):
        os.mkfifo(tmp_path / name)
    os.mkfifo(tmp_path / "mouse0")  # legacy mouse interface: SDL reads event* devices only
    (tmp_path / "by-id").mkdir()
    return tmp_path


def readable(fds) -> list[int]:
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll(0)]


@pytest.fixture
def watch():
    """Make EvdevInputs (with a hand-moved clock when given `now`); all closed after the test."""
    made: list[EvdevInputs] = []

    def _watch(directory: Path, now: list[float] | None = None, **kwargs) -> EvdevInputs:
        if now is not None:
            kwargs["monotonic"] = lambda: now[0]
        made.append(EvdevInputs(directory, **kwargs))
        return made[-1]

    yield _watch
    for inputs in made:
        inputs.close()


def open_writer(path: Path) -> int:
    """The device's other end (the kernel's side); a pipe needs its reader open first."""
    return os.open(path, os.O_WRONLY | os.O_NONBLOCK)


def test_every_event_device_is_watched_and_nothing_else(devices, watch):
    inputs = watch(devices)
    assert len(inputs.fds()) == 2
    assert readable(inputs.fds()) == []


def test_a_device_with_input_is_readable_until_drained(devices, watch):
    inputs = watch(devices)
    inputs.fds()
    writer = open_writer(devices / "event1")
    try:
        os.write(writer, b"\x00" * 24 * 3)  # three input_events from the panel
        ready = readable(inputs.fds())
        assert len(ready) == 1
        inputs.drain(ready)
        assert readable(inputs.fds()) == []
        assert len(inputs.fds()) == 2  # still watched
    finally:
        os.close(writer)


def test_a_device_plugged_in_later_is_watched_after_the_next_scan(devices, watch):
    now = [0.0]
    inputs = watch(devices, now, rescan_s=5.0)
    assert len(inputs.fds()) == 2
    os.mkfifo(devices / "event2")
    now[0] = 4.0
    assert len(inputs.fds()) == 2  # not rescanned on every wait
    now[0] = 5.0
    assert len(inputs.fds()) == 3


def test_a_device_that_disappears_is_no_longer_watched(devices, watch):
    now = [0.0]
    inputs = watch(devices, now, rescan_s=5.0)
    inputs.fds()
    (devices / "event0").unlink()
    now[0] = 5.0
    assert len(inputs.fds()) == 1


def test_a_device_whose_other_end_closed_is_dropped_when_drained(devices, watch):
    inputs = watch(devices)
    inputs.fds()
    os.close(open_writer(devices / "event0"))  # like an unplugged panel: readable, then nothing ever again
    ready = readable(inputs.fds())
    assert len(ready) == 1
    inputs.drain(ready)
    assert len(inputs.fds()) == 1


def test_an_unopenable_device_is_reported_once_and_skipped(devices, watch, caplog):
    (devices / "event9").symlink_to(devices / "nowhere")
    now = [0.0]
    inputs = watch(devices, now, rescan_s=1.0)
    with caplog.at_level(logging.WARNING, logger="drivers.input_devices"):
        assert len(inputs.fds()) == 2
        now[0] = 1.0
        assert len(inputs.fds()) == 2
    assert [r.getMessage() for r in caplog.records if "event9" in r.getMessage()] == [
        f"cannot watch {devices / 'event9'} for input: No such file or directory"
    ]


def test_no_input_directory_means_nothing_to_watch(tmp_path, watch):
    assert watch(tmp_path / "missing").fds() == ()
