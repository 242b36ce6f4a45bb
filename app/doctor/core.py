"""The doctor's building blocks: a check result, the injected context, and the runner."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clock_trust import RTC_HCTOSYS, read_flag
from app.doctor import probes
from drivers.chips import SelfTestResult

_LOG = logging.getLogger(__name__)


class Severity(str, enum.Enum):
    """How much a failed check matters: only ERROR makes `kiosk doctor` exit non-zero."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    severity: Severity
    detail: str
    fix: str = ""  # what to do about it; empty when ok
    skipped: bool = False

    @classmethod
    def passed(cls, name: str, detail: str) -> CheckResult:
        return cls(name, True, Severity.INFO, detail)

    @classmethod
    def failed(cls, name: str, detail: str, fix: str, severity: Severity = Severity.ERROR) -> CheckResult:
        return cls(name, False, severity, detail, fix)

    @classmethod
    def warning(cls, name: str, detail: str, fix: str) -> CheckResult:
        return cls(name, False, Severity.WARNING, detail, fix)

    @classmethod
    def skip(cls, name: str, why: str) -> CheckResult:
        return cls(name, True, Severity.INFO, why, skipped=True)

    @property
    def status(self) -> str:
        if self.skipped:
            return "skip"
        if self.ok:
            return "pass"
        return "fail" if self.severity is Severity.ERROR else "warn"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "severity": self.severity.value,
            "detail": self.detail,
            "fix": self.fix,
        }


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class DoctorContext:
    """Everything a check may look at, injected so tests can build healthy and broken kiosks.

    ``config`` is filled in by the config check (or given directly); checks that need it skip
    when it is None. Device paths from the config ("/dev/spidev0.0") are looked up under
    ``dev_root`` so a test can stand up a fake /dev.
    """

    config_path: Path | None = None
    config: Any = None
    now: Callable[[], dt.datetime] = _utc_now
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    dev_root: Path = Path("/dev")
    boot_config: Path = Path("/boot/firmware/config.txt")
    #: Judge file permissions as this user (the service's), not as whoever runs the doctor.
    service_user: str | None = "kiosk"
    #: Returns the reader's VersionReg value for a `cfg.reader` section, or raises.
    reader_probe: Callable[[Any], int] | None = None
    #: Claims (then releases) the reader's reset/IRQ pins for a `cfg.reader` section; returns the
    #: GPIO backend that did it, or raises (GpioFault, or ReaderInUse while the service owns them).
    gpio_probe: Callable[[Any], str] | None = None
    #: Runs the digital self-test on a `cfg.reader` section (a drivers.chips.SelfTestResult), or
    #: raises; None unless asked for (`kiosk doctor --reader-selftest`).
    reader_selftest: Callable[[Any], SelfTestResult] | None = None
    #: Connects to the broker (TCP, then TLS when configured); raises BrokerProbeError.
    broker_probe: Callable[[probes.BrokerTarget], None] = probes.probe_broker
    #: Returns integrity problems of an SQLite file ([] = healthy); opens it read-only.
    db_probe: Callable[[Path], list[str]] = probes.sqlite_integrity
    disk_usage: Callable[[Path], Any] = shutil.disk_usage
    ntp_synchronized: Callable[[], bool | None] = probes.ntp_synchronized
    #: Whether the kernel set the clock from an RTC at boot (None: no RTC); see app/clock_trust.py.
    rtc_set_clock: Callable[[], bool | None] = lambda: read_flag(RTC_HCTOSYS)
    #: When this software was built/installed: the clock cannot be earlier than that.
    build_time: Callable[[], dt.datetime | None] = probes.package_build_time
    font_candidates: Sequence[Path] = probes.CJK_FONT_CANDIDATES
    results: list[CheckResult] = field(default_factory=list)

    def device_path(self, path: str | os.PathLike[str]) -> Path:
        """A /dev path from the config, relocated under ``dev_root``."""
        p = Path(path)
        try:
            return self.dev_root / p.relative_to("/dev")
        except ValueError:
            return p

    def can_access(self, path: Path, *, write: bool = False) -> bool:
        return probes.user_can_access(path, self.service_user, write=write)

    @property
    def who(self) -> str:
        return probes.effective_user_name(self.service_user)


Check = Callable[[DoctorContext], "CheckResult | list[CheckResult]"]


def run_checks(ctx: DoctorContext, checks: Iterable[Check]) -> list[CheckResult]:
    """Run every check in order; a check that crashes becomes a failed result, never a traceback."""
    for check in checks:
        name = getattr(check, "check_name", check.__name__)
        try:
            outcome = check(ctx)
        except Exception as exc:  # the doctor must report on a broken kiosk, not become one
            _LOG.exception("doctor check %s crashed", name)
            outcome = CheckResult.failed(
                name,
                f"the check itself crashed: {type(exc).__name__}: {exc}",
                "report this as a bug in kiosk doctor, with the output of `kiosk doctor --json`",
            )
        ctx.results.extend(outcome if isinstance(outcome, list) else [outcome])
    return ctx.results


def exit_status(results: Iterable[CheckResult]) -> int:
    """0 when no check failed with severity ERROR, else 1."""
    return 1 if any(not r.ok and r.severity is Severity.ERROR for r in results) else 0
