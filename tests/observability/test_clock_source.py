"""Where the kiosk learns whether its clock is synchronised, and what each policy makes of it.

The sources are the real files (timesyncd's marker, the RTC's hctosys flag) laid out in a temp
directory, and the kernel's adjtimex state injected as the number adjtimex(2) returns.
"""

from __future__ import annotations

import sys

import pytest

from app.clock_trust import TIME_ERROR, ClockSource, ClockStatus, effective_policy, judge, kernel_clock_state

TIME_OK = 0


def source(tmp_path, *, marker: bool = False, hctosys: str | None = None, kernel: int | None = TIME_OK):
    if marker:
        (tmp_path / "synchronized").touch()
    if hctosys is not None:
        (tmp_path / "hctosys").write_text(hctosys + "\n")
    return ClockSource(tmp_path / "synchronized", tmp_path / "hctosys", lambda: kernel)


def test_timesyncds_marker_means_synchronised_whatever_the_kernel_says(tmp_path):
    assert source(tmp_path, marker=True, kernel=TIME_ERROR).read().synchronized is True


def test_the_kernels_time_error_means_not_synchronised(tmp_path):
    assert source(tmp_path, kernel=TIME_ERROR).read().synchronized is False


def test_chronys_synchronised_kernel_clock_counts_without_timesyncds_marker(tmp_path):
    assert source(tmp_path, kernel=TIME_OK).read().synchronized is True


def test_no_adjtimex_means_unknown(tmp_path):
    assert source(tmp_path, kernel=None).read().synchronized is None


def test_hctosys_1_means_an_rtc_set_the_clock_at_boot(tmp_path):
    assert source(tmp_path, hctosys="1").read().rtc_set_clock is True


def test_no_rtc_in_sysfs_means_unknown(tmp_path):
    assert source(tmp_path).read().rtc_set_clock is None


@pytest.mark.skipif(sys.platform != "linux", reason="adjtimex is Linux's")
def test_the_real_adjtimex_answers_with_a_clock_state():
    assert kernel_clock_state() in range(0, 6)


@pytest.mark.parametrize(
    ("status", "policy", "trusted"),
    [
        (ClockStatus(False, False), "sync_or_rtc", False),
        (ClockStatus(False, True), "sync_or_rtc", True),
        (ClockStatus(False, True), "sync", False),
        (ClockStatus(True, None), "sync", True),
        (ClockStatus(None, None), "sync", True),
        (ClockStatus(False, False), "ignore", True),
    ],
)
def test_policy_verdicts(status, policy, trusted):
    assert judge(status, policy).trusted is trusted


@pytest.mark.parametrize(
    ("driver", "policy"), [("spi", "sync_or_rtc"), ("uart", "sync_or_rtc"), ("emulator", "ignore")]
)
def test_auto_follows_the_reader(driver, policy):
    assert effective_policy("auto", driver) == policy
