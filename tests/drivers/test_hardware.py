"""The same assertions against a real RC522, opt-in (gpiozero/pyserial style).

KIOSK_TEST_SPI="0.0" (bus.device) or KIOSK_TEST_UART="/dev/ttyS0" names the reader; optional
KIOSK_TEST_RESET_PIN (BCM) wires the reset pin. Place a factory-fresh MIFARE Classic 1K on the
reader and set KIOSK_TEST_CARD=1 for the card tests. Skipped everywhere else.
"""

from __future__ import annotations

import os

import pytest

from drivers.chips import VERSIONS
from drivers.mfrc522 import Mfrc522
from drivers.session import open_session
from drivers.transport import open_transport

SPI = os.environ.get("KIOSK_TEST_SPI")
UART = os.environ.get("KIOSK_TEST_UART")
RESET_PIN = int(os.environ["KIOSK_TEST_RESET_PIN"]) if os.environ.get("KIOSK_TEST_RESET_PIN") else None
CARD = os.environ.get("KIOSK_TEST_CARD") == "1"

targets = []
if SPI:
    bus, device = (int(x) for x in SPI.split("."))
    targets.append(("spi", {"bus": bus, "device": device, "reset_pin": RESET_PIN}))
if UART:
    targets.append(("uart", {"port": UART, "reset_pin": RESET_PIN}))

pytestmark = [pytest.mark.hardware, pytest.mark.skipif(not targets, reason="set KIOSK_TEST_SPI or KIOSK_TEST_UART")]


@pytest.fixture(params=targets or [("none", {})], ids=lambda t: t[0])
def driver(request):
    kind, params = request.param
    transport = open_transport(kind, **params)
    yield Mfrc522(transport)
    transport.close()


def test_real_chip_initialises_with_a_known_version(driver):
    assert driver.init() in VERSIONS


def test_real_chip_hard_reset_comes_back(driver):
    if RESET_PIN is None:
        pytest.skip("no reset pin wired")
    assert driver.hard_reset() in VERSIONS


@pytest.mark.skipif(not CARD, reason="set KIOSK_TEST_CARD=1 with a fresh Classic 1K on the reader")
def test_real_card_is_selected_authenticated_and_read(driver):
    driver.init()
    session = open_session(driver)
    assert session is not None and session.card_type == "mifare_classic_1k"
    session.authenticate(4, b"\xff" * 6)
    assert len(session.read_block(4)) == 16
    session.halt()
