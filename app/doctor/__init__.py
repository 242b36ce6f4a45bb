"""`kiosk doctor`: checks a technician runs on the device, each with a fix for what it finds.

The checks are plain functions ``check(ctx) -> CheckResult`` (see `core`). Everything they touch
from the outside world comes through `DoctorContext`: the config path, the clock, the /dev root,
and probes for the reader, the broker and the databases. `app.cli.doctor` wires the real
probes (the reader probes open hardware through `drivers.transport`, which the checks never do);
tests wire emulators, a real Mosquitto, broken files and moved clocks. The one thing the checks
take from `drivers` is the chip table (`drivers.chips`, plain data), so the doctor names a
VersionReg value exactly as the driver does.
"""

from app.doctor.checks import ALL_CHECKS
from app.doctor.core import (
    CheckResult,
    DoctorContext,
    Severity,
    exit_status,
    run_checks,
)
from app.doctor.report import render_json, render_text

__all__ = [
    "ALL_CHECKS",
    "CheckResult",
    "DoctorContext",
    "Severity",
    "exit_status",
    "render_json",
    "render_text",
    "run_checks",
]
