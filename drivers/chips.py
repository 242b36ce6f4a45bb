"""Which chip is on the board: the one VersionReg table, and the digital self-test's references.

The protocol driver, the emulator and `kiosk doctor` all name chips from `VERSIONS`, so the log,
telemetry and the doctor agree on what "0xB2" is. Cheap RC522 modules carry clones that report
other VersionReg values than NXP's 0x91/0x92; the ones public drivers know are listed here and
accepted. Any other value except 0x00/0xFF (no chip answering) is accepted with a warning: the
driver's own checks (timer, FIFO, CRC, every exchange bounded) tell soon enough if it does not work.

Sources, all public:
- NXP MFRC522 datasheet (Rev. 3.8 / 3.9), 9.3.4.8 VersionReg and 16.1.1 digital self-test.
- miguelbalboa/rfid src/MFRC522.h and MFRC522.cpp (PCD_DumpVersionToSerial, PCD_PerformSelfTest):
  0x88 "(clone)", 0x90 v0.0, 0x91 v1.0, 0x92 v2.0, 0x12 "counterfeit chip"; self-test references
  for 0x90 (Philips preliminary specification 2.0, 2005), 0x91 and 0x92 (NXP datasheet Rev. 3.8,
  16.1.1) and 0x88 (read back from a working FM17522: miguelbalboa/rfid#106, #537).
- OSSLibraries/Arduino_MFRC522v2 src/MFRC522Constants.h and MFRC522v2.h: 0xB2 "FM17522_1"
  ("another FM17522 IC from AliExpress") and 0x89 FM17522E, with self-test references for both.
- miguelbalboa/rfid#456 (0x15) and #605 (0x18): modules reporting values no library names.
"""

from __future__ import annotations

from dataclasses import dataclass

#: VersionReg values that mean nothing answered: 0x00 (MISO low, chip held in reset or not yet
#: awake after reset) or 0xFF (MISO floating high, no chip).
NO_CHIP = (0x00, 0xFF)

VERSION_V1 = 0x91
VERSION_V2 = 0x92

SELF_TEST_LENGTH = 64


@dataclass(frozen=True)
class ChipVersion:
    """What one VersionReg value says about the chip."""

    value: int
    name: str
    #: The 64 bytes the datasheet's digital self-test leaves in the FIFO, or None if unpublished.
    self_test: bytes | None = None
    #: Said once at start-up (a warning) and by the doctor: what to expect from this chip.
    caveat: str = ""


def _ref(hex_text: str) -> bytes:
    data = bytes.fromhex(hex_text)
    if len(data) != SELF_TEST_LENGTH:
        raise ValueError("a self-test reference is 64 bytes")
    return data


# Self-test references as published (see the module docstring), 16 bytes a line.
_REF_V0_0 = _ref(
    "0087980f49ff0719bf2230495963adca"
    "7fe34e035c4e4950479a3761e7e2c62e"
    "755aed043d024b7832ff583b7ce90094"
    "b44a595bfdc929df3596989e4f30328d"
)
_REF_V1_0 = _ref(
    "00c637d532b7575cc2d87c4dd970c773"
    "10e6d2aa5ea13e5a14af3061c970db2e"
    "642272b5bd65f4ec22bcd37235cdaa41"
    "1fa7f35314de7e02d90fb55e251d2979"
)
_REF_V2_0 = _ref(
    "00eb66ba57bf2395d0e30d3d27895cde"
    "9d3ba700215b8982513aeb020ca50049"
    "7c844db3ccd21b815d4876d5716121a9"
    "86968338cf9d5b6ddc15ba3e7d953b2f"
)
_REF_FM17522_88 = _ref(
    "00d6788ce2aa0c182ab87a7fd36acf0b"
    "b137634b69ae91c7c397ae77f437d79b"
    "7cf53c118f15c3d7c15b002ad075de9e"
    "5164ab3ee915b5ab569a988226ea2a62"
)
_REF_FM17522_B2 = _ref(
    "00eb4485fa9a780174e51c7a0aa071e1"
    "f3fa966d28a134463a1c3296b9e64487"
    "0a4598a93660890f069b7b17b30c1a6c"
    "1aae2cac0e6f2e022bcb8ab245dd7e3c"
)
_REF_FM17522E_89 = _ref(
    "00000000000000000000000000000000"
    "00000000000000000000800004ccc800"
    "100400c0009000200000230038060133"
    "98f38006c0f98008270423822112f9c7"
)

_UNNAMED = "no public driver names this value; cards may read with reduced range"

VERSIONS: dict[int, ChipVersion] = {
    v.value: v
    for v in (
        ChipVersion(VERSION_V1, "NXP MFRC522 v1.0", _REF_V1_0),
        ChipVersion(VERSION_V2, "NXP MFRC522 v2.0", _REF_V2_0),
        ChipVersion(0x90, "Philips MFRC522 v0.0 (preliminary silicon)", _REF_V0_0),
        ChipVersion(0x88, "Fudan FM17522 (MFRC522 clone)", _REF_FM17522_88),
        ChipVersion(0x89, "Fudan FM17522E (MFRC522 clone)", _REF_FM17522E_89),
        ChipVersion(0xB2, "Fudan FM17522, 0xB2 variant (MFRC522 clone)", _REF_FM17522_B2),
        ChipVersion(
            0x12,
            "counterfeit MFRC522",
            caveat="some read cards normally, some read none (miguelbalboa/rfid#482); RF range may suffer",
        ),
        ChipVersion(0x15, "unbranded MFRC522 clone (0x15)", caveat=_UNNAMED),
        ChipVersion(0x18, "unbranded MFRC522 clone (0x18)", caveat=_UNNAMED),
    )
}


def describe(version: int) -> ChipVersion:
    """The table's entry for `version`, or an "unknown chip" entry for any other value."""
    known = VERSIONS.get(version)
    if known is not None:
        return known
    if version in NO_CHIP:
        return ChipVersion(version, f"no chip answering (VersionReg {version:#04x})")
    return ChipVersion(
        version,
        f"unknown MFRC522-compatible chip (VersionReg {version:#04x})",
        caveat="not a VersionReg value any public driver knows; if cards do not read, try another module",
    )


def is_known(version: int) -> bool:
    return version in VERSIONS


# --- digital self-test (datasheet 16.1.1) -----------------------------------------------------

PASSED, FAILED, NO_REFERENCE = "passed", "failed", "no reference"


@dataclass(frozen=True)
class SelfTestResult:
    """The self-test's 64 FIFO bytes judged against the reference for the chip's version."""

    version: int
    chip: str
    verdict: str  # PASSED, FAILED or NO_REFERENCE
    result: bytes
    #: Index of the first byte that differs from the reference (FAILED only).
    first_difference: int | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED


def judge_self_test(version: int, result: bytes) -> SelfTestResult:
    chip = describe(version)
    if chip.self_test is None:
        return SelfTestResult(version, chip.name, NO_REFERENCE, result)
    if result == chip.self_test:
        return SelfTestResult(version, chip.name, PASSED, result)
    first = next(
        (i for i, (got, want) in enumerate(zip(result, chip.self_test, strict=False)) if got != want),
        min(len(result), SELF_TEST_LENGTH),
    )
    return SelfTestResult(version, chip.name, FAILED, result, first)
