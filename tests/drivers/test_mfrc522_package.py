"""The `mfrc522` PyPI package (0.0.7) against the emulator: its own API, and as our transport.

The package imports spidev and RPi.GPIO itself and cannot take a bus, so here (and only here) it
is loaded with look-alike modules whose SPI reaches the emulator's SPI pins.
"""

from __future__ import annotations

import sys

import pytest

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.emulator.pkg_shim import gpio_module, spidev_module
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport import open_transport
from drivers.transport.mfrc522pkg import load_package

UID = bytes.fromhex("a1b2c3d4")
FF = [0xFF] * 6


@pytest.fixture
def chip():
    chip = MFRC522Emulator(Field())
    card = MifareClassic1K(UID)
    card.set_block(4, b"member-record-01")
    chip.field.present(card)
    return chip


def test_the_package_reads_a_card_with_its_own_api(chip):
    package = load_package((spidev_module(chip), gpio_module(chip)))
    reader = package.MFRC522()
    status, _ = reader.MFRC522_Request(reader.PICC_REQIDL)
    assert status == reader.MI_OK
    status, uid = reader.MFRC522_Anticoll()
    assert status == reader.MI_OK and bytes(uid[:4]) == UID
    assert reader.MFRC522_SelectTag(uid) == 0x08
    assert reader.MFRC522_Auth(reader.PICC_AUTHENT1A, 4, FF, uid) == reader.MI_OK
    assert bytes(reader.MFRC522_Read(4)) == b"member-record-01"


def test_the_package_idle_poll_spins_through_its_2000_reads(chip):
    chip.field.remove_all()
    package = load_package((spidev_module(chip), gpio_module(chip)))
    reader = package.MFRC522()
    before = chip.bus_stats.register_reads
    status, _ = reader.MFRC522_Request(reader.PICC_REQIDL)
    assert status == reader.MI_ERR
    assert chip.bus_stats.register_reads - before > 2000


def test_loading_the_package_leaves_sys_modules_untouched(chip):
    before = {name: sys.modules.get(name) for name in ("spidev", "RPi", "RPi.GPIO")}
    load_package((spidev_module(chip), gpio_module(chip)))
    assert {name: sys.modules.get(name) for name in before} == before


def test_our_driver_reads_a_card_over_the_package_backend(chip):
    transport = open_transport("mfrc522", modules=(spidev_module(chip), gpio_module(chip)), sleep=chip.advance)
    driver = Mfrc522(transport)
    assert driver.init() == 0x92
    session = open_session(driver)
    session.authenticate(4, bytes(FF))
    assert session.read_block(4) == b"member-record-01"


def test_the_package_backend_hard_reset_pulses_the_reset_pin(chip):
    transport = open_transport("mfrc522", modules=(spidev_module(chip), gpio_module(chip)), sleep=chip.advance)
    chip.hang("bus")
    transport.hard_reset()
    assert chip.hung is None and chip.resets["hard"] == 1
