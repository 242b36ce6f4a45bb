"""Does the reader answer, which chip is it (VersionReg), and, on request, does its digital
self-test pass?

Chips are named from drivers/chips.py, the table the driver itself uses, so the doctor and the
kiosk's log and telemetry always agree on what a VersionReg value means (plain data: no bus).
"""

from __future__ import annotations

from app.doctor.core import CheckResult, DoctorContext
from app.errors import AppError
from drivers.chips import NO_CHIP, NO_REFERENCE, PASSED, describe, is_known

NAME = "reader"
SELF_TEST_NAME = "reader self-test"


class ReaderInUse(AppError, RuntimeError):
    """The probe declined: another process (the running kiosk service) owns the reader."""


def _wiring_fix(driver: str) -> str:
    if driver == "uart":
        # MFRC522 datasheet, "Connection protocol for detecting different interface types": the
        # chip picks its host interface from pins I2C and EA (I2C=0, EA=0: UART; I2C=0, EA=1: SPI;
        # I2C=1: I2C). In UART mode the SDA pin is the chip's RX and D7 (the module's MISO pad) its TX.
        return (
            "check wiring: module SDA pad (the chip's RX in UART mode) -> Pi TXD (GPIO14), module MISO pad "
            "(the chip's TX) -> Pi RXD (GPIO15), RST -> reset_pin, 3.3 V (never 5 V) and GND. The chip "
            "selects UART only with pin I2C low and pin EA low; most RC522 modules tie EA high (SPI), so "
            "UART needs the board modified: cut the EA trace and tie EA to GND. Check reader.baud "
            "(the chip starts at 9600)"
        )
    return (
        "check wiring: SDA/NSS->CE0 (GPIO8), SCK->GPIO11, MOSI->GPIO10, MISO->GPIO9, RST->reset_pin, "
        "3.3 V (never 5 V) and GND; then: sudo systemctl restart kiosk"
    )


def check_reader(ctx: DoctorContext) -> CheckResult:
    if ctx.config is None:
        return CheckResult.skip(NAME, "needs a valid config")
    if ctx.reader_probe is None:
        return CheckResult.skip(NAME, "no reader probe available in this build")
    driver = ctx.config.reader.driver
    try:
        version = ctx.reader_probe(ctx.config.reader)
    except ReaderInUse as exc:
        return CheckResult.skip(NAME, str(exc))
    except Exception as exc:  # any transport error means "no reader", with the reason shown
        return CheckResult.failed(
            NAME, f"cannot talk to the reader ({driver}): {type(exc).__name__}: {exc}", _wiring_fix(driver)
        )
    if version in NO_CHIP:
        return CheckResult.failed(
            NAME,
            f"no answer from the reader ({driver}): VersionReg reads {version:#04x} after a reset and "
            "the driver's start-up wait",
            _wiring_fix(driver),
        )
    chip = describe(version)
    if not is_known(version):
        return CheckResult.warning(
            NAME,
            f"reader answers with unknown VersionReg {version:#04x}; the kiosk accepts it with a warning",
            f"{chip.caveat}; kiosk doctor --reader-selftest tells more",
        )
    caveat = f"; {chip.caveat}" if chip.caveat else ""
    return CheckResult.passed(NAME, f"{chip.name} (VersionReg {version:#04x}) via {driver}{caveat}")


def check_reader_selftest(ctx: DoctorContext) -> CheckResult | list[CheckResult]:
    """The datasheet's digital self-test, only when asked for (`kiosk doctor --reader-selftest`):
    clones that read cards fine fail it, so the kiosk never runs it by itself."""
    if ctx.reader_selftest is None:
        return []  # not asked for: no line in the report
    if ctx.config is None:
        return CheckResult.skip(SELF_TEST_NAME, "needs a valid config")
    reader_results = [r for r in ctx.results if r.name == NAME]
    if reader_results and (reader_results[-1].skipped or reader_results[-1].status == "fail"):
        return CheckResult.skip(SELF_TEST_NAME, f"the reader check did not pass: {reader_results[-1].detail}")
    driver = ctx.config.reader.driver
    try:
        outcome = ctx.reader_selftest(ctx.config.reader)
    except ReaderInUse as exc:
        return CheckResult.skip(SELF_TEST_NAME, str(exc))
    except Exception as exc:  # any transport error: the reader check above says more
        return CheckResult.failed(
            SELF_TEST_NAME, f"self-test could not run ({driver}): {type(exc).__name__}: {exc}", _wiring_fix(driver)
        )
    where = f"{outcome.chip} (VersionReg {outcome.version:#04x})"
    if outcome.verdict == PASSED:
        return CheckResult.passed(SELF_TEST_NAME, f"digital self-test passed: {where}; reader re-initialised")
    if outcome.verdict == NO_REFERENCE:
        return CheckResult.skip(
            SELF_TEST_NAME, f"self-test ran, but there is no reference for this chip: {where}; reader re-initialised"
        )
    # FAILED. A warning, not an error: clones and counterfeits that fail it often read cards fine.
    return CheckResult.warning(
        SELF_TEST_NAME,
        f"digital self-test FAILED: {where}, first wrong byte at {outcome.first_difference} "
        f"of 64; reader re-initialised",
        "the chip is not the silicon its VersionReg claims, or is damaged; if cards read unreliably, "
        "replace the reader module",
    )
