"""Silent register loss: a brown-out or EMI resets the chip's registers while VersionReg still
reads right ("stops reading after hours"). The periodic health check reads back what `init` wrote
and re-initialises on a mismatch, without a fault, counted and named in the reader's health."""

from __future__ import annotations

import logging

import pytest

from drivers import registers as r
from drivers.emulator import MifareClassic1K, ModelClock
from drivers.events import CardPresented, ReaderHealthChanged
from drivers.reader_service import ReaderService
from drivers.session import open_session
from tests.drivers.rigs import make_rig

UID = bytes.fromhex("a1b2c3d4")
POLL = 0.05
HEALTH = 1.0


def test_right_after_init_and_after_exchanges_nothing_has_drifted(erig):
    assert erig.driver.config_drift() == []
    erig.field.present(MifareClassic1K(UID))
    session = open_session(erig.driver)
    session.authenticate(4, b"\xff" * 6)
    session.read_block(4)
    assert erig.driver.config_drift() == []  # TReloadRegL follows the driver's current timeout


def lose_the_antenna_bits(chip) -> None:
    """A partial loss no exchange notices: the timer still ends every poll, no card ever answers."""
    chip.write_register(r.TX_CONTROL, 0x80)


def test_a_chip_that_lost_its_antenna_bits_still_answers_its_version_but_hears_no_card(erig):
    """Why VersionReg alone is not a health check."""
    erig.field.present(MifareClassic1K(UID))
    lose_the_antenna_bits(erig.chip)
    assert erig.driver.read_version() == 0x92
    assert erig.driver.request(wake=True) is None


def test_a_glitch_shows_as_drift_naming_each_lost_register(erig):
    erig.chip.glitch()
    drift = " ".join(erig.driver.config_drift())
    for name in ("TModeReg", "TPrescalerReg", "TxASKReg", "ModeReg", "TxControlReg"):
        assert name in drift


@pytest.mark.parametrize(
    ("reg", "value", "name"),
    [
        (r.RF_CFG, 0x48 & ~0x70, "RFCfgReg"),
        (r.T_PRESCALER, 0xA9, "TPrescalerReg"),
        (r.TX_CONTROL, 0x80, "TxControlReg"),
        (r.COM_IEN, 0x00, "ComIEnReg"),  # the IRQ pin would never fall again
    ],
)
def test_one_lost_register_is_enough(erig, reg, value, name):
    erig.chip.write_register(reg, value)
    assert [d.split("=")[0] for d in erig.driver.config_drift()] == [name]


def test_reserved_bits_are_not_checked(erig):
    erig.chip.set_reg(r.RF_CFG, erig.chip.reg(r.RF_CFG) ^ 0x8F)  # flip bit 7 and bits 3-0 only
    assert erig.driver.config_drift() == []


class Service:
    def __init__(self) -> None:
        self.rig = make_rig("emulator", init=False)
        self.chip = self.rig.chip
        self.service = ReaderService(
            self.rig.driver, ModelClock(self.chip), poll_interval_s=POLL, cooldown_s=0.2, health_interval_s=HEALTH
        )

    def poll_for(self, seconds: float) -> list:
        events: list = []
        end = self.chip.model_time_s + seconds
        while self.chip.model_time_s < end:
            events += self.service.poll_once()
            self.chip.advance(POLL)
        return events


def test_the_health_check_restores_lost_configuration_and_the_next_tap_reads(caplog):
    s = Service()
    s.poll_for(0.2)
    lose_the_antenna_bits(s.chip)
    with caplog.at_level(logging.WARNING, logger="drivers.reader_service"):
        events = s.poll_for(HEALTH + 0.2)
    assert "configuration lost" in caplog.text and "TxControlReg" in caplog.text
    assert [e for e in events if isinstance(e, ReaderHealthChanged)] == []  # no fault flashed on screen
    health = s.service.health
    assert health.state == "ok" and health.counts["config_restores"] == 1 and health.counts["faults"] == 0
    assert "configuration lost" in (health.last_error or "")
    s.rig.field.present(MifareClassic1K(UID))
    assert [e.uid for e in s.poll_for(0.2) if isinstance(e, CardPresented)] == [UID]


def test_a_full_glitch_is_recovered_too_and_the_next_tap_reads():
    """With TModeReg gone the timer never ends an exchange: the next poll already sees a hung
    chip (a fault, then recovery); either way the reader reads again within a health interval."""
    s = Service()
    s.poll_for(0.2)
    s.chip.glitch()
    s.poll_for(HEALTH + 0.2)
    assert s.service.health.state == "ok"
    s.rig.field.present(MifareClassic1K(UID))
    assert [e.uid for e in s.poll_for(0.2) if isinstance(e, CardPresented)] == [UID]


def test_a_healthy_chip_is_never_re_initialised():
    s = Service()
    s.poll_for(5 * HEALTH)
    assert s.service.health.counts["config_restores"] == 0
    assert s.chip.resets["soft"] == 1  # the start-up init only
