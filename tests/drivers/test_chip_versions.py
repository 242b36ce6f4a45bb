"""Chip identity: one VersionReg table (drivers/chips.py) for driver, telemetry and doctor. Known
clones are accepted and named; an unknown value is accepted with a warning; 0x00/0xFF stay bus
faults. The doctor's side of the same table is in tests/ops/test_doctor.py."""

from __future__ import annotations

import logging

import pytest

from drivers.chips import NO_CHIP, VERSIONS, describe
from drivers.emulator import MifareClassic1K, ModelClock
from drivers.errors import BusFault
from drivers.reader_service import ReaderService
from drivers.session import open_session
from tests.drivers.rigs import make_rig

UID = bytes.fromhex("a1b2c3d4")
ISSUE_18_CLONES = (0xB2, 0x88, 0x89, 0x90, 0x12, 0x15, 0x18)


def test_the_table_knows_nxp_and_every_clone_value_seen_on_cheap_modules():
    assert {0x91, 0x92, *ISSUE_18_CLONES} <= set(VERSIONS)
    assert VERSIONS[0x91].name == "NXP MFRC522 v1.0" and VERSIONS[0x92].name == "NXP MFRC522 v2.0"
    assert "FM17522" in VERSIONS[0x88].name and "FM17522E" in VERSIONS[0x89].name


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_every_known_chip_initialises_reads_a_card_and_is_named(version, caplog):
    rig = make_rig("emulator", version=version, init=False)
    rig.field.present(MifareClassic1K(UID))
    with caplog.at_level(logging.INFO, logger="drivers.mfrc522"):
        assert rig.driver.init() == version
    assert rig.driver.chip == VERSIONS[version].name
    assert VERSIONS[version].name in caplog.text
    assert open_session(rig.driver).uid == UID


def test_an_unknown_version_is_accepted_with_a_warning(caplog):
    rig = make_rig("emulator", version=0x55, init=False)
    rig.field.present(MifareClassic1K(UID))
    with caplog.at_level(logging.WARNING, logger="drivers.mfrc522"):
        assert rig.driver.init() == 0x55
    warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert warnings and "0x55" in warnings[0].getMessage()
    assert open_session(rig.driver).uid == UID


@pytest.mark.parametrize("version", NO_CHIP)
def test_0x00_and_0xff_remain_bus_faults(version):
    rig = make_rig("emulator", version=version, init=False)
    with pytest.raises(BusFault, match=f"VersionReg={version:#04x}"):
        rig.driver.init()


def test_describe_names_an_unknown_value_by_its_number():
    assert "0x55" in describe(0x55).name and describe(0x55).caveat
    assert describe(0x00).name.startswith("no chip")


def test_a_clone_keeps_the_reader_service_ok_and_is_named_in_its_health():
    """The old driver called 0xB2 a bus fault, and the service looped in recovery."""
    rig = make_rig("emulator", version=0xB2, init=False)
    service = ReaderService(rig.driver, ModelClock(rig.chip))
    service.poll_once()
    health = service.health
    assert health.state == "ok" and health.counts["faults"] == 0
    assert (health.version, health.chip) == (0xB2, VERSIONS[0xB2].name)


@pytest.mark.parametrize(("version", "first", "last"), [(0x91, "00c637d5", "251d2979"), (0x92, "00eb66ba", "7d953b2f")])
def test_the_nxp_self_test_references_are_the_datasheets(version, first, last):
    """Pinned against the bytes printed in datasheet 16.1.1 (as miguelbalboa/rfid publishes them)."""
    reference = VERSIONS[version].self_test
    assert reference is not None and len(reference) == 64
    assert (reference[:4].hex(), reference[-4:].hex()) == (first, last)
