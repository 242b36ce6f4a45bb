"""`kiosk doctor` says whether the kiosk will refuse offline redemptions for its clock.

The healthy device layout of tests/ops (real config, keys, ledger, /dev) with the synchronisation
state and the RTC flag injected, as the doctor's other clock checks are.
"""

from __future__ import annotations


def policy_result(setup, **overrides):
    return next(r for r in setup.run(**overrides) if r.name == "clock policy")


def test_an_unsynchronised_clock_without_rtc_warns_that_offline_redemptions_are_refused(kiosk_setup):
    result = policy_result(kiosk_setup, ntp_synchronized=lambda: False, rtc_set_clock=lambda: None)
    assert result.status == "warn"
    assert "offline redemptions are refused" in result.detail
    assert "timedatectl set-ntp true" in result.fix


def test_a_synchronised_clock_passes(kiosk_setup):
    result = policy_result(kiosk_setup, ntp_synchronized=lambda: True, rtc_set_clock=lambda: None)
    assert result.status == "pass"


def test_an_rtc_set_clock_passes_under_the_default_policy(kiosk_setup):
    result = policy_result(kiosk_setup, ntp_synchronized=lambda: False, rtc_set_clock=lambda: True)
    assert "rtc" in result.detail
