"""Is the wall clock believable?

A Pi has no battery-backed clock: after a power cut it boots with the time it last saved (or, on
a fresh image, the image's build date) until NTP corrects it. A kiosk whose clock is far off
would judge signature validity windows, voucher expiries and point expiries wrongly, so the
doctor compares the clock with times it has reason to trust: when this software was installed,
the newest times the ledger recorded, and the issue time of HQ's signed deny-list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.clock_trust import ClockStatus, effective_policy, judge
from app.doctor.check_storage import database_files
from app.doctor.core import CheckResult, DoctorContext
from app.doctor.probes import latest_recorded_times

NAME = "clock"
POLICY_NAME = "clock policy"
BACKWARDS_TOLERANCE = dt.timedelta(days=1)
AHEAD_LIMIT = dt.timedelta(days=365)

NTP_FIX = "enable NTP: sudo timedatectl set-ntp true (and make sure UDP 123 to the NTP server is open)"
RTC_FIX = (
    "the Pi keeps no time without power: fit an RTC (Pi 5: a battery on the RTC connector; older Pis: "
    "a DS3231 module with `dtoverlay=i2c-rtc,ds3231` in /boot/firmware/config.txt)"
)


@dataclass(frozen=True)
class ClockVerdict:
    ok: bool
    problem: str  # "", "behind", "ahead"
    detail: str


def judge_clock(
    now: dt.datetime, evidence: Sequence[tuple[str, dt.datetime]], ntp_synchronized: bool | None
) -> ClockVerdict:
    """Pure verdict on `now` given trusted past times; usable by the app at start-up as well."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not evidence:
        return ClockVerdict(True, "", f"{now.isoformat(timespec='seconds')} (nothing recorded to compare with)")
    label, newest = max(evidence, key=lambda item: item[1])
    if now < newest - BACKWARDS_TOLERANCE:
        behind = newest - now
        return ClockVerdict(
            False,
            "behind",
            f"clock says {now.isoformat(timespec='seconds')}, {_span(behind)} before the newest recorded "
            f"time ({label} at {newest.isoformat(timespec='seconds')})",
        )
    if now > newest + AHEAD_LIMIT and ntp_synchronized is not True:
        ahead = now - newest
        return ClockVerdict(
            False,
            "ahead",
            f"clock says {now.isoformat(timespec='seconds')}, {_span(ahead)} after anything recorded "
            f"({label} at {newest.isoformat(timespec='seconds')}) and it is not NTP-synchronised",
        )
    return ClockVerdict(
        True,
        "",
        f"{now.isoformat(timespec='seconds')}, consistent with {label} at {newest.isoformat(timespec='seconds')}",
    )


def _span(delta: dt.timedelta) -> str:
    days = delta.total_seconds() / 86400
    if days >= 365:
        return f"{days / 365.25:.1f} years"
    if days >= 1:
        return f"{days:.0f} days"
    return f"{delta.total_seconds() / 3600:.1f} hours"


def collect_evidence(ctx: DoctorContext) -> list[tuple[str, dt.datetime]]:
    evidence: list[tuple[str, dt.datetime]] = []
    built = ctx.build_time()
    if built is not None:
        evidence.append(("software installed", built))
    if ctx.config is not None:
        for path in database_files(Path(ctx.config.ledger.data_dir)):
            evidence.extend((f"{label} in {path.name}", when) for label, when in latest_recorded_times(path))
    return evidence


def check_clock(ctx: DoctorContext) -> list[CheckResult]:
    now = ctx.now()
    synced = ctx.ntp_synchronized()
    verdict = judge_clock(now, collect_evidence(ctx), synced)
    results: list[CheckResult] = []
    if not verdict.ok:
        results.append(
            CheckResult.failed(
                NAME,
                verdict.detail + "; signatures and expiries cannot be judged",
                f"{NTP_FIX}\n{RTC_FIX}",
            )
        )
    else:
        results.append(CheckResult.passed(NAME, verdict.detail))
    if synced is False:
        results.append(CheckResult.warning("ntp", "the clock is not NTP-synchronised", NTP_FIX))
    elif synced is True:
        results.append(CheckResult.passed("ntp", "NTP-synchronised"))
    else:
        results.append(CheckResult.skip("ntp", "cannot tell whether NTP is synchronised (no timedatectl)"))
    results.append(check_clock_policy(ctx))
    return results


def check_clock_policy(ctx: DoctorContext) -> CheckResult:
    """What the running kiosk makes of the clock for offline redemptions (device.clock_policy)."""
    if ctx.config is None:
        return CheckResult.skip(POLICY_NAME, "no usable config")
    policy = effective_policy(ctx.config.device.clock_policy, ctx.config.reader.driver)
    # The same answer the ntp check got (timedatectl's NTPSynchronized is the kernel's adjtimex state).
    status = ClockStatus(ctx.ntp_synchronized(), ctx.rtc_set_clock())
    verdict = judge(status, policy)
    seen = (
        f"synchronised since boot: {_yes_no(status.synchronized)}, "
        f"set from an RTC at boot: {_yes_no(status.rtc_set_clock)}"
    )
    if not verdict.trusted:
        return CheckResult.warning(
            POLICY_NAME,
            f"offline redemptions are refused until the clock is synchronised ({seen}; policy {policy})",
            f"{NTP_FIX}\n{RTC_FIX}",
        )
    return CheckResult.passed(POLICY_NAME, f"offline redemptions allowed ({verdict.reason}; {seen}; policy {policy})")


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]
