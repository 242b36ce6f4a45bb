"""The GPIO seam: which backend runs where, and a GPIO failure as a reader fault, never a crash.

Backends are exercised with stand-ins for their libraries (a fake `lgpio` module, RPi.GPIO
look-alikes); the reset pin itself is the emulated chip's NRSTPD behind the same seam.
"""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, ModelClock
from drivers.emulator.gpio import EmulatorGpioChip
from drivers.emulator.wire import EmulatorGpio, EmulatorSpiDevice
from drivers.errors import BusFault, GpioFault
from drivers.mfrc522 import Mfrc522
from drivers.reader_service import ReaderService
from drivers.session import open_session
from drivers.transport.gpio_lgpio import LgpioLines
from drivers.transport.pins import ControlPins, open_lines, open_pins
from drivers.transport.spi import SpiTransport

UID = bytes.fromhex("a1b2c3d4")


class FakeLgpio(types.SimpleNamespace):
    """The few lgpio calls the backend makes, over gpiochips described by their labels."""

    FALLING_EDGE, SET_PULL_UP = 1, 32

    def __init__(self, labels: dict[int, str], *, forbidden: set[int] = frozenset()) -> None:
        super().__init__()
        self.labels = labels
        self.forbidden = forbidden
        self.open_handles: set[int] = set()
        self.lines: dict[int, int] = {}

    def gpiochip_open(self, number: int) -> int:
        if number not in self.labels:
            raise OSError("can not open gpiochip")
        if number in self.forbidden:
            raise PermissionError("no permission to open gpiochip")
        self.open_handles.add(number)
        return number

    def gpiochip_close(self, handle: int) -> None:
        self.open_handles.discard(handle)

    def gpio_get_chip_info(self, handle: int) -> tuple[int, int, str, str]:
        return (0, 54, f"gpiochip{handle}", self.labels[handle])

    def gpio_claim_output(self, handle: int, pin: int, level: int) -> None:
        self.lines[pin] = level

    def gpio_write(self, handle: int, pin: int, level: int) -> None:
        self.lines[pin] = level

    def gpio_free(self, handle: int, pin: int) -> None:
        self.lines.pop(pin, None)


def rpigpio_module(gpio: object) -> dict[str, types.ModuleType]:
    """sys.modules entries making `import RPi.GPIO` return `gpio`'s attributes."""
    module = types.ModuleType("RPi.GPIO")
    for name in dir(gpio):
        if not name.startswith("_"):
            setattr(module, name, getattr(gpio, name))
    package = types.ModuleType("RPi")
    package.GPIO = module  # type: ignore[attr-defined]  # a module built at run time
    return {"RPi": package, "RPi.GPIO": module}


class Pi5RpiGpio(EmulatorGpio):
    """RPi.GPIO 0.7 on a Pi 5: it imports, then every setup() fails."""

    def setup(self, pin: int, direction: int, initial: int = 1, **_: object) -> None:
        raise RuntimeError("Cannot determine SOC peripheral base address")


# --- choosing a backend -------------------------------------------------------------------------


def test_auto_takes_lgpio_when_it_is_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", FakeLgpio({0: "pinctrl-bcm2711"}))
    assert open_lines("auto").backend == "lgpio"


def test_auto_falls_back_to_rpigpio_where_lgpio_is_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)  # import lgpio -> ImportError
    for name, module in rpigpio_module(EmulatorGpio(MFRC522Emulator(Field()))).items():
        monkeypatch.setitem(sys.modules, name, module)
    assert open_lines("auto").backend == "rpigpio"


def test_lgpio_finds_the_header_at_gpiochip4_on_a_pi5_with_an_early_kernel():
    lg = FakeLgpio({0: "gpio-brcmstb@107d508500", 1: "gpio-brcmstb@107d517c00", 4: "pinctrl-rp1"})
    lines = LgpioLines.open(module=lg)
    assert lines.chip == 4
    assert lg.open_handles == {4}  # the chips that were not the header are closed again


def test_lgpio_finds_the_header_at_gpiochip0_on_later_kernels_and_older_pis():
    assert LgpioLines.open(module=FakeLgpio({0: "pinctrl-rp1", 10: "rp1-something"})).chip == 0
    assert LgpioLines.open(module=FakeLgpio({0: "pinctrl-bcm2835"})).chip == 0


def test_lgpio_drives_the_reset_pin_and_releases_it_and_the_chip_at_close():
    lg = FakeLgpio({0: "pinctrl-bcm2711"})
    pins = ControlPins(reset_pin=25, lines=LgpioLines.open(module=lg), sleep=lambda s: None)
    assert lg.lines == {25: 1}  # claimed high: low would hold the chip in power-down
    assert pins.pulse_reset() and lg.lines[25] == 1
    pins.close()
    assert lg.lines == {} and lg.open_handles == set()


def test_backend_none_uses_no_gpio_library_and_no_pin():
    pins = ControlPins(reset_pin=25, irq_pin=24, backend="none")
    assert pins.reset_pin is None and not pins.pulse_reset() and pins.wait_irq(0.01) is None


def test_no_gpio_library_is_imported_until_a_pin_is_claimed():
    code = (
        "import sys, drivers.transport.pins, drivers.transport.gpio_lgpio, drivers.transport.gpio_rpigpio, "
        "drivers.transport.spi, drivers.transport.uart; "
        "drivers.transport.pins.ControlPins(); "
        "print([m for m in ('lgpio', 'RPi', 'RPi.GPIO', 'gpiozero', 'gpiod') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- GPIO failures are reader faults that name the backend and the pin -------------------------------


def test_a_pi5_with_only_rpigpio_reads_cards_and_reports_the_reset_pin_as_a_reader_fault():
    chip = MFRC522Emulator(Field())
    chip.field.present(MifareClassic1K(UID))
    wire = EmulatorSpiDevice(chip)
    pins = open_pins(reset_pin=25, gpio=Pi5RpiGpio(chip), sleep=wire.sleep)  # no RuntimeError escapes
    assert isinstance(pins.fault, GpioFault) and isinstance(pins.fault, BusFault)
    assert "rpigpio" in str(pins.fault) and "BCM25" in str(pins.fault)
    assert "Cannot determine SOC peripheral base address" in str(pins.fault)
    driver = Mfrc522(SpiTransport(wire, pins=pins, sleep=wire.sleep))
    driver.init()
    assert open_session(driver).uid == UID  # the reader works without its reset pin
    with pytest.raises(GpioFault, match="rpigpio.*BCM25"):
        driver.hard_reset()  # what the reader service's recovery reports as its last error


def test_lgpio_asked_for_but_not_installed_is_a_fault_naming_it_and_the_pin(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)
    pins = open_pins(reset_pin=25, backend="lgpio")
    assert pins.fault is not None
    assert "lgpio" in str(pins.fault) and "not installed" in str(pins.fault) and "reset pin BCM25" in str(pins.fault)


def test_a_gpiochip_the_user_may_not_open_is_a_fault_naming_the_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", FakeLgpio({0: "pinctrl-bcm2711"}, forbidden={0}))
    pins = open_pins(reset_pin=25, irq_pin=24)
    assert pins.fault is not None
    text = str(pins.fault)
    assert "/dev/gpiochip0" in text and "no permission" in text and "BCM25" in text and "BCM24" in text


def test_a_line_another_process_holds_is_a_fault_and_the_other_pin_is_released():
    chip = MFRC522Emulator(Field())
    gpio = EmulatorGpioChip(chip, reset_pin=25, irq_pin=24)
    gpio.busy.add(24)
    pins = open_pins(reset_pin=25, irq_pin=24, lines=gpio)
    assert "GPIO backend emulator cannot claim the IRQ pin BCM24" in str(pins.fault)
    assert "busy" in str(pins.fault)
    assert gpio.claimed == set()  # the reset pin claimed before the failure is given back
    assert pins.wait_irq(0.001) is None  # waits poll instead


# --- the reset pin through the seam --------------------------------------------------------------------


def test_the_reset_pin_through_the_seam_revives_a_chip_whose_bus_hung():
    chip = MFRC522Emulator(Field())
    gpio = EmulatorGpioChip(chip, reset_pin=25, irq_pin=None)
    wire = EmulatorSpiDevice(chip)
    transport = SpiTransport(wire, pins=ControlPins(reset_pin=25, lines=gpio, sleep=wire.sleep), sleep=wire.sleep)
    driver = Mfrc522(transport)
    driver.init()
    chip.hang("bus")
    assert driver.read_version() == 0x00
    assert driver.hard_reset() == 0x92
    assert chip.resets["hard"] == 1
    transport.close()
    assert gpio.claimed == set()


def test_a_reader_whose_reset_pin_cannot_be_used_runs_and_its_health_names_the_gpio_fault():
    chip = MFRC522Emulator(Field())
    wire = EmulatorSpiDevice(chip)
    pins = open_pins(reset_pin=25, gpio=Pi5RpiGpio(chip), sleep=wire.sleep)
    service = ReaderService(Mfrc522(SpiTransport(wire, pins=pins, sleep=wire.sleep)), ModelClock(chip))
    service.start()
    assert service.health.state == "ok"  # cards can be read: no crash loop over a reset pin
    chip.hang("bus")  # now only the reset pin could help
    for _ in range(200):
        service.poll_once()
        chip.advance(0.05)
    assert service.health.state == "failed"
    assert "rpigpio" in (service.health.last_error or "") and "BCM25" in (service.health.last_error or "")
