"""`kiosk doctor [--json]`: run every health check and say how to fix what fails.

This is wiring, so unlike the domain it may reach for `drivers`: it builds the real reader probe
(open the configured transport, reset the chip and wait for it exactly as the driver's `init` does,
read VersionReg, close) and, with --reader-selftest, the digital self-test (which re-initialises the
chip afterwards). While the kiosk service runs it owns the reader, and a second process resetting
it mid-transaction would cost a tap, so the reader is probed only when the service is stopped (or
with --probe-reader: the service's health check then finds its configuration gone and restores it).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.doctor import (
    ALL_CHECKS,
    DoctorContext,
    exit_status,
    render_json,
    render_text,
    run_checks,
)
from app.doctor.check_reader import ReaderInUse
from drivers.chips import SelfTestResult

_LOG = logging.getLogger(__name__)

SERVICE = "kiosk.service"


def service_is_active(unit: str = SERVICE) -> bool:
    if shutil.which("systemctl") is None:
        return False
    try:
        proc = subprocess.run(
            ["systemctl", "is-active", "--quiet", unit],
            timeout=10,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def transport_params(reader: Any) -> dict[str, Any]:
    """`drivers.transport.open_transport` parameters for a `cfg.reader` section."""
    if reader.driver == "emulator":
        from drivers.emulator import Field, MFRC522Emulator

        return {"chip": MFRC522Emulator(Field(), version=reader.emulator_version)}
    from app.reader_params import (
        transport_params as hardware_params,  # the app uses the same mapping
    )

    return hardware_params(reader)


def _open_transport(reader: Any) -> Any:
    from drivers.transport import open_transport

    return open_transport(reader.driver, **transport_params(reader))


def probe_version_on(transport: Any) -> int:
    """VersionReg after the driver's own reset and waits, so a board that was just powered or
    reset is not reported silent (it reads 0x00 while waking). Closes `transport`."""
    from drivers.mfrc522 import Mfrc522

    try:
        return Mfrc522(transport).probe_version()
    finally:
        transport.close()


def self_test_on(transport: Any) -> SelfTestResult:
    """Initialise the reader, run the datasheet's digital self-test and re-initialise (the driver's
    `self_test` ends with `init`); a dead bus raises BusFault as at the kiosk's start. Closes it."""
    from drivers.mfrc522 import Mfrc522

    try:
        driver = Mfrc522(transport)
        driver.init()
        return driver.self_test()
    finally:
        transport.close()


def real_reader_probe(reader: Any) -> int:
    return probe_version_on(_open_transport(reader))


def real_reader_selftest(reader: Any) -> SelfTestResult:
    return self_test_on(_open_transport(reader))


def real_gpio_probe(reader: Any) -> str:
    """Claim the reader's reset (and, for SPI, IRQ) pins with the configured GPIO backend and
    release them; returns the backend's name. GpioFault (naming backend and pin) if it cannot."""
    from drivers.transport.pins import ControlPins

    pins = ControlPins(
        reset_pin=reader.reset_pin,
        irq_pin=reader.irq_pin if reader.driver == "spi" else None,
        backend=reader.gpio_backend,
    )
    try:
        return pins.backend
    finally:
        pins.close()


def _service_owns_reader(reader: Any) -> Any:
    raise ReaderInUse(
        "the kiosk service is running and owns the reader; its health is in `systemctl status kiosk`. "
        "To probe it here: sudo systemctl stop kiosk, or run kiosk doctor --probe-reader"
    )


def build_context(args: argparse.Namespace, *, service_active: Callable[[], bool] = service_is_active) -> DoctorContext:
    probe: Callable[[Any], int] = real_reader_probe
    gpio: Callable[[Any], str] = real_gpio_probe
    selftest: Callable[[Any], SelfTestResult] | None = (
        real_reader_selftest if getattr(args, "reader_selftest", False) else None
    )
    if not getattr(args, "probe_reader", False) and service_active():
        probe = _service_owns_reader
        gpio = _service_owns_reader  # the service holds the pins: say which backend, claim nothing
        selftest = _service_owns_reader if selftest is not None else None
    return DoctorContext(
        config_path=Path(args.config) if getattr(args, "config", None) else None,
        reader_probe=probe,
        gpio_probe=gpio,
        reader_selftest=selftest,
        service_user=getattr(args, "user", None) or "kiosk",
        boot_config=Path(getattr(args, "boot_config", None) or "/boot/firmware/config.txt"),
    )


def _doctor(args: argparse.Namespace) -> int:
    results = run_checks(build_context(args), ALL_CHECKS)
    print(render_json(results) if args.json else render_text(results), file=sys.stdout)
    return exit_status(results)


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check config, reader, display, storage, clock, broker and keys; print fixes",
        description="Exit status: 0 healthy (warnings allowed), 1 at least one check failed.",
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    doctor.add_argument(
        "--probe-reader",
        action="store_true",
        help="talk to the reader even while the kiosk service is running (it resets the chip; the "
        "service restores its configuration at its next health check, within 5 s)",
    )
    doctor.add_argument(
        "--reader-selftest",
        action="store_true",
        help="also run the MFRC522's digital self-test (datasheet 16.1.1) and compare it with the "
        "published reference for the chip's version; the reader is re-initialised afterwards",
    )
    doctor.add_argument(
        "--user", default="kiosk", help="judge file and device permissions as this user (default: kiosk)"
    )
    doctor.add_argument(
        "--boot-config", default="/boot/firmware/config.txt", help="the Pi's boot config to look for dtparam=spi=on in"
    )
    doctor.set_defaults(handler=_doctor)
