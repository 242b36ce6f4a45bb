"""The digital self-test (datasheet 16.1.1) through the driver: pass for NXP chips against the
published references, "no reference" for clones nobody published one for, fail for a counterfeit
whose bytes differ, and in every case a chip re-initialised and reading cards afterwards."""

from __future__ import annotations

import pytest

from drivers import registers as r
from drivers.chips import FAILED, NO_REFERENCE, PASSED, VERSIONS
from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.errors import BusFault
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport.emulator import EmulatorTransport
from tests.drivers.rigs import make_rig

UID = bytes.fromhex("a1b2c3d4")
# A board whose chip says 0x92 but whose self-test differs (miguelbalboa/rfid#428, 2020-05-07).
FAKE_V2_RESULT = bytes.fromhex(
    "00be887a99aee1ae4228badcebbc630b"
    "b7ffc6bf10e32f9cdb5ded3d3ca46e72"
    "e3f7e8b96aacc958d290e5ac4282b22e"
    "78cdce104de8fb992d62657b82c75729"
)


def driver_for(chip: MFRC522Emulator) -> Mfrc522:
    driver = Mfrc522(EmulatorTransport(chip))
    driver.init()
    return driver


@pytest.mark.parametrize("version", [0x91, 0x92])
@pytest.mark.parametrize("kind", ["emulator", "spi", "uart"])
def test_an_nxp_chip_passes_over_every_transport(kind, version):
    rig = make_rig(kind, version=version)
    try:
        outcome = rig.driver.self_test()
    finally:
        rig.close()
    assert (outcome.verdict, outcome.version, outcome.chip) == (PASSED, version, VERSIONS[version].name)


@pytest.mark.parametrize("version", [0x88, 0x89, 0xB2])
def test_a_fudan_clone_with_a_published_reference_passes(version):
    assert driver_for(MFRC522Emulator(Field(), version=version)).self_test().verdict == PASSED


@pytest.mark.parametrize("version", [0x12, 0x15, 0x18, 0x55])
def test_a_chip_without_a_reference_is_reported_as_such(version):
    outcome = driver_for(MFRC522Emulator(Field(), version=version)).self_test()
    assert outcome.verdict == NO_REFERENCE and len(outcome.result) == 64


def test_a_counterfeit_claiming_v2_fails_and_says_where():
    outcome = driver_for(MFRC522Emulator(Field(), version=0x92, self_test=FAKE_V2_RESULT)).self_test()
    assert outcome.verdict == FAILED and not outcome.passed
    assert outcome.first_difference == 1  # byte 0 is 0x00 in every reference and result


def test_the_chip_is_re_initialised_after_the_test_and_reads_cards():
    chip = MFRC522Emulator(Field())
    driver = driver_for(chip)
    driver.self_test()
    assert chip.reg(r.AUTO_TEST) == r.AUTO_TEST_RESET  # self-test mode off again
    assert driver.config_drift() == []
    chip.field.present(MifareClassic1K(UID))
    assert open_session(driver).uid == UID


def test_init_never_runs_the_self_test():
    chip = MFRC522Emulator(Field(), version=0x12)
    driver_for(chip)
    assert chip.internal_buffer != bytes(25)  # step 2 of the self-test never happened


def test_a_dead_bus_is_a_bus_fault_not_a_verdict():
    chip = MFRC522Emulator(Field())
    driver = driver_for(chip)
    chip.hang("bus")
    with pytest.raises(BusFault):
        driver.self_test()
