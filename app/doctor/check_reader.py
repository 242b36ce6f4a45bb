"""Does the reader answer, and is it an MFRC522 (VersionReg)?"""

from __future__ import annotations

from app.doctor.core import CheckResult, DoctorContext
from app.errors import AppError

NAME = "reader"


class ReaderInUse(AppError, RuntimeError):
    """The probe declined: another process (the running kiosk service) owns the reader."""


#: VersionReg values of chips that work with the kiosk's driver.
KNOWN_VERSIONS = {
    0x91: "MFRC522 v1.0",
    0x92: "MFRC522 v2.0",
    0x88: "FM17522 (MFRC522 clone)",
    0xB2: "FM17522 (MFRC522 clone)",
    0x12: "MFRC522 clone (unbranded)",
}


def _wiring_fix(driver: str) -> str:
    if driver == "uart":
        return (
            "check wiring: reader TX->Pi RXD (GPIO15), RX->TXD (GPIO14), 3.3 V and GND; the RC522 "
            "must be strapped for UART (I2C pin high, EA low); check reader.baud (power-on 9600)"
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
    if version in (0x00, 0xFF):
        return CheckResult.failed(
            NAME, f"no answer from the reader ({driver}): VersionReg reads {version:#04x}", _wiring_fix(driver)
        )
    if version not in KNOWN_VERSIONS:
        return CheckResult.warning(
            NAME,
            f"reader answers with unknown VersionReg {version:#04x}",
            "the chip may be a clone the driver was not tested with; try another reader module",
        )
    return CheckResult.passed(NAME, f"{KNOWN_VERSIONS[version]} (VersionReg {version:#04x}) via {driver}")
