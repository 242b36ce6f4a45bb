"""Fixtures for the operations tests: a fake systemd notify socket and a movable clock."""

from __future__ import annotations

import datetime as dt
import os
import queue
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

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
            except TimeoutError:
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


# --- a kiosk installation for the doctor to examine ---------------------------------------

NOW = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)


def make_char_node(path: Path, mode: int = 0o666) -> None:
    """A character device node for a fake /dev (mknod as root; else a link to /dev/null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mknod(path, stat.S_IFCHR | mode, os.makedev(1, 3))
        os.chmod(path, mode)  # mknod honours the umask
    except PermissionError:
        if mode & 0o006 != 0o006:
            pytest.skip("restricted device nodes need mknod (root)")
        path.symlink_to("/dev/null")


class KioskSetup:
    """A healthy device layout under tmp_path: config, keys, ledger, /dev, boot config.

    Tests break one thing and look at the doctor's verdict for it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dev = root / "dev"
        self.boot_config = root / "boot" / "config.txt"
        self.data_dir = root / "var" / "lib" / "kiosk"
        self.keys = root / "etc" / "kiosk" / "keys"
        self.config_path = root / "etc" / "kiosk" / "config.yaml"
        self.reader_version = 0x92
        self.reader_self_test: bytes | None = None  # None: the published reference for the version
        self.reader_just_reset = False  # the reset pin rose just before the probe: chip still waking
        self.reader_probe = self._emulated_reader
        self.reader_selftest = self._emulated_selftest
        self.gpio = None  # the emulated board's header (EmulatorGpioChip), made by the first GPIO probe
        self.gpio_probe = self._emulated_gpio
        self.hq_host = ""
        self.hq_port = 1883
        self.hq_extra = ""

        for node in ("spidev0.0", "gpiomem", "dri/card0", "dri/renderD128", "input/event0", "ttyAMA0"):
            make_char_node(self.dev / node)
        self.boot_config.parent.mkdir(parents=True)
        self.boot_config.write_text("# Raspberry Pi OS\ndtparam=audio=on\ndtparam=spi=on\n[all]\n")
        self.data_dir.mkdir(parents=True)
        self.write_config()
        from app.key_files import ensure_keys
        from kiosk.config import load_config

        ensure_keys(load_config(self.config_path, environ={}), simulation=True)
        self.ledger_path = self.data_dir / "ledger.sqlite"
        self._make_ledger(NOW - dt.timedelta(hours=1))

    def write_config(self, reader_driver: str = "spi", **overrides: str) -> None:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        text = f"""
device: {{id: kiosk-test-01, store_id: store-1, display_name: Test Shop}}
reader: {{driver: {reader_driver}, spi_bus: 0, spi_device: 0, reset_pin: 25, serial_port: /dev/ttyAMA0}}
display: {{fullscreen: true}}
ledger: {{data_dir: {self.data_dir}}}
hq: {{host: "{self.hq_host}", port: {self.hq_port}{self.hq_extra}}}
security:
  hq_public_key: {self.keys}/hq_public.pem
  card_master_key: {self.keys}/card_master.key
  voucher_signing_key: {self.keys}/voucher_signing.pem
simulation: {{enabled: false}}
"""
        for old, new in overrides.items():
            text = text.replace(old, new)
        self.config_path.write_text(text)
        self.config_path.chmod(0o640)

    def _make_ledger(self, last_event: dt.datetime) -> None:
        from kiosk.ledger import db

        conn = db.connect(self.ledger_path)
        db.migrate(conn, self.ledger_path)
        with db.transaction(conn):
            conn.execute(
                "INSERT INTO outbox(seq, event_id, type, payload, created_at, offline) VALUES (?, ?, ?, ?, ?, ?)",
                (1, "ev-1", "redemption", "{}", db.ts(last_event), 0),
            )
        conn.close()

    def _emulated_chip(self):
        from drivers.emulator import Field, MFRC522Emulator

        chip = MFRC522Emulator(Field(), version=self.reader_version, self_test=self.reader_self_test)
        if self.reader_just_reset:
            chip.hard_reset()
        return chip

    def _emulated_reader(self, reader_config) -> int:
        # The CLI's own probe, on a transport to the register-level emulator.
        from app.cli.doctor import probe_version_on
        from drivers.transport import open_transport

        return probe_version_on(open_transport("emulator", chip=self._emulated_chip()))

    def _emulated_selftest(self, reader_config):
        # The CLI's `--reader-selftest` probe, on a transport to the emulator.
        from app.cli.doctor import self_test_on
        from drivers.transport import open_transport

        return self_test_on(open_transport("emulator", chip=self._emulated_chip()))

    def _emulated_gpio(self, reader_config) -> str:
        # The CLI's probe with the emulated board's header behind the GPIO seam.
        from drivers.emulator import Field, MFRC522Emulator
        from drivers.emulator.gpio import EmulatorGpioChip
        from drivers.transport.pins import ControlPins

        if self.gpio is None:
            self.gpio = EmulatorGpioChip(MFRC522Emulator(Field()))
        pins = ControlPins(reset_pin=reader_config.reset_pin, irq_pin=reader_config.irq_pin, lines=self.gpio)
        try:
            return pins.backend
        finally:
            pins.close()

    def context(self, **overrides):
        from app.doctor import DoctorContext

        values = dict(
            config_path=self.config_path,
            now=lambda: NOW,
            environ={},
            dev_root=self.dev,
            boot_config=self.boot_config,
            service_user=None,
            reader_probe=self.reader_probe,
            gpio_probe=self.gpio_probe,
            ntp_synchronized=lambda: True,
            build_time=lambda: NOW - dt.timedelta(days=30),
        )
        values.update(overrides)
        return DoctorContext(**values)

    def run(self, **overrides):
        from app.doctor import ALL_CHECKS, run_checks

        return run_checks(self.context(**overrides), ALL_CHECKS)


@pytest.fixture
def kiosk_setup(tmp_path: Path) -> KioskSetup:
    return KioskSetup(tmp_path)
