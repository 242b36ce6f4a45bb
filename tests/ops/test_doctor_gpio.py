"""`kiosk doctor` on the GPIO stack (which backend, can it claim the reader's pins) and on the
wiring advice for a UART reader.

Like tests/ops/test_doctor.py, each test starts from the healthy `kiosk_setup` (its GPIO probe
claims the pins on the emulated board's header through the same seam as the kiosk) and breaks one
thing. GPIO libraries that do not work on this machine are stood in for at the seam's layer below.
"""

from __future__ import annotations

import sys

import pytest

from app.cli import doctor as doctor_command
from app.doctor import exit_status
from app.doctor.check_reader import ReaderInUse
from drivers.emulator import Field, MFRC522Emulator
from drivers.emulator.wire import EmulatorGpio
from drivers.errors import GpioFault
from drivers.transport.pins import ControlPins


def by_name(results):
    return {r.name: r for r in results}


class Pi5RpiGpio(EmulatorGpio):
    """RPi.GPIO on a Pi 5: imports, then setup() fails."""

    def setup(self, pin, direction, initial=1, **_):
        raise RuntimeError("Cannot determine SOC peripheral base address")


def test_a_healthy_kiosk_says_which_gpio_backend_claimed_which_pin(kiosk_setup):
    gpio = by_name(kiosk_setup.run())["gpio"]
    assert gpio.status == "pass"
    assert "GPIO backend emulator claimed the reset pin BCM25" in gpio.detail
    assert kiosk_setup.gpio.claimed == set()  # the doctor gives the pin back


def test_a_pi5_with_only_rpigpio_fails_naming_backend_and_pin_and_says_to_install_lgpio(kiosk_setup):
    def pi5_probe(reader):
        ControlPins(reset_pin=reader.reset_pin, gpio=Pi5RpiGpio(MFRC522Emulator(Field())))
        return "unreachable"

    results = kiosk_setup.run(gpio_probe=pi5_probe)
    gpio = by_name(results)["gpio"]
    assert gpio.status == "fail" and exit_status(results) == 1
    assert "rpigpio" in gpio.detail and "reset pin BCM25" in gpio.detail
    assert "Raspberry Pi 5" in gpio.fix and "lgpio" in gpio.fix


def test_lgpio_not_installed_says_how_to_install_it(kiosk_setup, monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)
    kiosk_setup.write_config(**{"reset_pin: 25": "reset_pin: 25, gpio_backend: lgpio"})
    gpio = by_name(kiosk_setup.run(gpio_probe=doctor_command.real_gpio_probe))["gpio"]
    assert gpio.status == "fail"
    assert "lgpio" in gpio.detail and "not installed" in gpio.detail and "BCM25" in gpio.detail
    assert "pip install lgpio" in gpio.fix


def test_a_pin_another_process_holds_is_a_failure_that_says_how_to_find_it(kiosk_setup):
    kiosk_setup.run()  # builds the emulated header
    kiosk_setup.gpio.busy.add(25)
    gpio = by_name(kiosk_setup.run())["gpio"]
    assert gpio.status == "fail" and "busy" in gpio.detail and "BCM25" in gpio.detail
    assert "gpioinfo" in gpio.fix


def test_while_the_service_holds_the_pins_the_doctor_names_the_backend_and_claims_nothing(kiosk_setup):
    gpio = by_name(kiosk_setup.run(gpio_probe=doctor_command._service_owns_reader))["gpio"]
    assert gpio.status == "pass" and "kiosk service holds the reset pin BCM25" in gpio.detail
    assert "backend:" in gpio.detail


def test_the_cli_does_not_claim_the_pins_while_the_service_runs():
    class Args:
        config = None

    context = doctor_command.build_context(Args(), service_active=lambda: True)
    with pytest.raises(ReaderInUse):
        context.gpio_probe(object())


def test_the_cli_probe_raises_a_gpio_fault_not_the_librarys_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)
    monkeypatch.setitem(sys.modules, "RPi", None)

    class Reader:
        driver, reset_pin, irq_pin, gpio_backend = "spi", 25, 24, "auto"

    with pytest.raises(GpioFault, match="reset pin BCM25 and IRQ pin BCM24"):
        doctor_command.real_gpio_probe(Reader())


def test_gpio_backend_none_skips_the_gpio_check(kiosk_setup):
    kiosk_setup.write_config(**{"reset_pin: 25": "reset_pin: 25, gpio_backend: none"})
    gpio = by_name(kiosk_setup.run())["gpio"]
    assert gpio.skipped and "gpio_backend is none" in gpio.detail


def test_a_uart_reader_with_a_reset_pin_gets_its_gpio_checked_too(kiosk_setup):
    kiosk_setup.write_config(reader_driver="uart")
    gpio = by_name(kiosk_setup.run())["gpio"]
    assert gpio.status == "pass" and "reset pin BCM25" in gpio.detail and "IRQ" not in gpio.detail


# --- wiring advice ------------------------------------------------------------------------------------


def test_uart_wiring_advice_follows_the_datasheets_interface_table(kiosk_setup):
    kiosk_setup.write_config(reader_driver="uart")
    kiosk_setup.reader_version = 0x00  # nothing answers
    fix = by_name(kiosk_setup.run())["reader"].fix
    # I2C=0 & EA=0 -> UART; I2C=0 & EA=1 -> SPI; I2C=1 -> I2C (datasheet table "Connection protocol
    # for detecting different interface types"): UART is I2C low and EA low, not "I2C pin high".
    assert "pin I2C low and pin EA low" in fix
    assert "I2C pin high" not in fix
    assert "tie EA high (SPI)" in fix and "board modified" in fix
    # In UART mode the SDA pad is the chip's RX and the MISO pad (D7) its TX.
    assert "SDA pad (the chip's RX in UART mode) -> Pi TXD (GPIO14)" in fix
    assert "MISO pad (the chip's TX) -> Pi RXD (GPIO15)" in fix


def test_spi_wiring_advice_is_unchanged(kiosk_setup):
    kiosk_setup.reader_version = 0x00
    fix = by_name(kiosk_setup.run())["reader"].fix
    assert "SDA/NSS->CE0 (GPIO8)" in fix and "EA" not in fix
