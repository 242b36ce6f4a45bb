"""Power-up and reset timing: the driver waits for the chip the way public drivers do (~50 ms after
the reset pin rises and after a SoftReset) instead of reading at once, and a dead bus still fails
in bounded time. All waits are modelled time (the transport's `wait`), so nothing here sleeps."""

from __future__ import annotations

import time

import pytest

from drivers.emulator import MifareClassic1K, TimingModel
from drivers.errors import BusFault
from drivers.mfrc522 import RESET_CHECKS, RESET_SETTLE_S
from drivers.session import open_session
from tests.drivers.rigs import make_rig

UID = bytes.fromhex("a1b2c3d4")
SLOW_CRYSTAL = TimingModel(wake_up_s=0.04)  # 40 ms asleep after the reset pin rises
SLOW_SOFT_RESET = TimingModel(soft_reset_s=0.03)  # PowerDown set for 30 ms after SoftReset


def test_init_right_after_the_reset_pin_rises_waits_for_the_chip_instead_of_failing():
    rig = make_rig("emulator", timing=SLOW_CRYSTAL, init=False)
    rig.chip.hard_reset()  # e.g. the transport just raised NRSTPD: everything reads 0x00 now
    assert rig.driver.init() == 0x92


@pytest.mark.parametrize("kind", ["emulator", "spi", "uart"])
def test_a_hard_reset_through_the_reset_pin_comes_back_on_a_slow_crystal(kind):
    rig = make_rig(kind, timing=SLOW_CRYSTAL)
    try:
        rig.field.present(MifareClassic1K(UID))
        pulses = rig.chip.resets["hard"]
        assert rig.driver.hard_reset() == 0x92
        assert rig.chip.resets["hard"] == pulses + 1
        assert open_session(rig.driver).uid == UID
    finally:
        rig.close()


def test_a_slow_soft_reset_is_waited_for():
    """The old 6 x 0.1 ms allowance called a 30 ms PowerDown phase a dead chip."""
    rig = make_rig("emulator", timing=SLOW_SOFT_RESET, init=False)
    assert rig.driver.init() == 0x92


def test_the_soft_reset_wait_is_the_public_drivers_50_ms():
    rig = make_rig("emulator", init=False)
    started = rig.chip.model_time_s
    rig.driver.soft_reset()
    assert RESET_SETTLE_S == pytest.approx(0.05)
    assert rig.chip.model_time_s - started >= RESET_SETTLE_S


def test_a_chip_held_in_reset_is_a_bus_fault_after_bounded_waits():
    rig = make_rig("emulator", init=False)
    rig.chip.set_reset_pin(False)  # reset pin stuck low: reads 0x00 for ever
    started = rig.chip.model_time_s
    with pytest.raises(BusFault, match="VersionReg=0x00"):
        rig.driver.init()
    assert rig.chip.model_time_s - started < (RESET_CHECKS + 1) * RESET_SETTLE_S + 0.01


def test_a_chip_stuck_in_power_down_is_a_bus_fault():
    rig = make_rig("emulator", timing=TimingModel(soft_reset_s=10.0), init=False)
    with pytest.raises(BusFault, match="soft reset"):
        rig.driver.init()


def test_the_waits_are_modelled_time_not_wall_time():
    rig = make_rig("emulator", timing=SLOW_CRYSTAL, init=False)
    started = time.monotonic()
    rig.chip.hard_reset()
    rig.driver.init()
    assert rig.chip.model_time_s >= 2 * RESET_SETTLE_S  # wake-up wait, then the soft reset's
    assert time.monotonic() - started < RESET_SETTLE_S  # and none of it slept


def test_probe_version_resets_and_waits_like_init_without_configuring():
    rig = make_rig("emulator", timing=SLOW_CRYSTAL, init=False)
    rig.chip.hard_reset()
    assert rig.driver.read_version() == 0x00  # what a probe that reads at once would report
    assert rig.driver.probe_version() == 0x92
    assert rig.chip.resets["soft"] == 1
    assert not rig.chip.field.powered  # no antenna, no configuration: only a look
