"""The reader's bus (SPI device node or UART) and the GPIO pins, with their permissions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.doctor.check_reader import ReaderInUse
from app.doctor.core import CheckResult, DoctorContext, Severity
from app.doctor.probes import group_name
from drivers.errors import GpioFault
from drivers.transport.pins import backend_to_use

SPI_LINE = "dtparam=spi=on"
UART_LINE = "enable_uart=1"
_SPI_ON = re.compile(r"^\s*dtparam=(?:[^#]*,)?spi=on\b", re.MULTILINE)
_UART_ON = re.compile(r"^\s*enable_uart=1\b", re.MULTILINE)


def boot_config_has(ctx: DoctorContext, pattern: re.Pattern[str]) -> bool | None:
    try:
        return bool(pattern.search(ctx.boot_config.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return None


def _node_result(ctx: DoctorContext, name: str, node: Path, missing_fix: str, group: str) -> CheckResult:
    if not node.exists():
        return CheckResult.failed(name, f"{node} does not exist", missing_fix)
    if not node.is_char_device():
        kind = "a directory" if node.is_dir() else "not a character device"
        return CheckResult.failed(name, f"{node} is {kind}", f"check what created {node}; a reboot restores it")
    if not ctx.can_access(node, write=True):
        owner_group = group_name(node.stat().st_gid)
        return CheckResult.failed(
            name,
            f"{node} exists but user {ctx.who} cannot open it for read/write (group {owner_group})",
            f"sudo usermod -aG {group} {ctx.who}  (then: sudo systemctl restart kiosk)",
        )
    return CheckResult.passed(name, f"{node} present and usable by {ctx.who}")


def check_reader_bus(ctx: DoctorContext) -> CheckResult:
    name = "reader bus"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    reader = ctx.config.reader
    if reader.driver == "emulator":
        if ctx.config.simulation.enabled:
            return CheckResult.passed(name, "emulated reader: no device node needed")
        return CheckResult.warning(
            name,
            "reader.driver is emulator but simulation is off: no real card can be read",
            "set reader.driver: spi (or uart) in the config",
        )
    if reader.driver == "uart":
        node = ctx.device_path(reader.serial_port)
        enabled = boot_config_has(ctx, _UART_ON)
        fix = (
            f"add the line `{UART_LINE}` to {ctx.boot_config} and disable the serial login console "
            "(sudo raspi-config nonint do_serial_cons 1), then reboot"
        )
        if enabled:
            fix = f"{UART_LINE} is set in {ctx.boot_config} but {node} is missing: reboot; check the wiring of TX/RX"
        return _node_result(ctx, name, node, fix, "dialout")
    node = ctx.dev_root / f"spidev{reader.spi_bus}.{reader.spi_device}"
    enabled = boot_config_has(ctx, _SPI_ON)
    if enabled is False or enabled is None:
        fix = f"add the line `{SPI_LINE}` to {ctx.boot_config}, then reboot"
    else:
        fix = (
            f"{SPI_LINE} is already in {ctx.boot_config}: reboot; if {node.name} is still missing, "
            "check that no dtoverlay= line claims the SPI chip-select pins"
        )
    return _node_result(ctx, name, node, fix, "spi")


def _gpio_pins(reader: Any) -> list[str]:
    pins = [("reset", reader.reset_pin)]
    if reader.driver == "spi":  # only the SPI transport waits on the IRQ pin
        pins.append(("IRQ", reader.irq_pin))
    return [f"{role} pin BCM{pin}" for role, pin in pins if pin is not None]


def _gpio_fix(ctx: DoctorContext, reader: Any, problem: str) -> str:
    if "SOC peripheral base address" in problem or (reader.gpio_backend == "rpigpio" and "RuntimeError" in problem):
        return (
            "RPi.GPIO does not work on a Raspberry Pi 5: install lgpio (sudo tools/install-pi.sh, or "
            "/opt/kiosk/venv/bin/pip install lgpio) and set reader.gpio_backend: auto"
        )
    if "not installed" in problem or "cannot load" in problem:
        return (
            "install the GPIO library: sudo tools/install-pi.sh (or /opt/kiosk/venv/bin/pip install lgpio), "
            "or set reader.gpio_backend to one that is installed"
        )
    if "busy" in problem.lower():
        return (
            "another process holds the pin: find it with `gpioinfo` (package gpiod) and stop it, "
            "or wire the reader to a free pin and change reader.reset_pin / reader.irq_pin"
        )
    if "permission" in problem.lower() or "Errno 13" in problem:
        return f"sudo usermod -aG gpio {ctx.who}  (then: sudo systemctl restart kiosk)"
    return "check reader.gpio_backend and the pins in the config; set reader.gpio_backend: none to run without them"


def check_gpio(ctx: DoctorContext) -> CheckResult:
    """The GPIO stack the reader's reset/IRQ pins need: device nodes, the backend, a trial claim."""
    name = "gpio"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    reader = ctx.config.reader
    if reader.driver not in ("spi", "uart", "mfrc522") or not _gpio_pins(reader):
        return CheckResult.skip(name, "no reset/IRQ pin wired to GPIO")
    if reader.gpio_backend == "none" and reader.driver != "mfrc522":
        return CheckResult.skip(name, "reader.gpio_backend is none: the reset/IRQ pins are not used")
    candidates = [ctx.dev_root / n for n in ("gpiomem", "gpiomem0", "gpiochip0", "gpiochip4")]
    present = [c for c in candidates if c.exists()]
    if not present:
        return CheckResult.failed(
            name,
            f"no GPIO device ({', '.join(c.name for c in candidates)}) under {ctx.dev_root}",
            "this does not look like a Raspberry Pi OS kernel; reinstall Raspberry Pi OS Bookworm",
        )
    usable = [c for c in present if ctx.can_access(c, write=True)]
    if not usable:
        return CheckResult.failed(
            name,
            f"user {ctx.who} cannot open {', '.join(str(c) for c in present)}",
            f"sudo usermod -aG gpio {ctx.who}  (then: sudo systemctl restart kiosk)",
        )
    pins = " and ".join(_gpio_pins(reader))
    if ctx.gpio_probe is None or reader.driver == "mfrc522":
        # The mfrc522 package drives its pins through its own RPi.GPIO import.
        return CheckResult(name, True, Severity.INFO, f"{usable[0]} usable for the {pins}")
    try:
        backend = ctx.gpio_probe(reader)
    except ReaderInUse:
        would = backend_to_use(reader.gpio_backend) or "no GPIO library found"
        return CheckResult.passed(
            name, f"{usable[0]} present; the kiosk service holds the {pins} (backend: {would}); not claimed here"
        )
    except Exception as exc:  # GpioFault names the backend and the pin; anything else is shown as is
        problem = str(exc) if isinstance(exc, GpioFault) else f"{type(exc).__name__}: {exc}"
        return CheckResult.failed(name, problem, _gpio_fix(ctx, reader, problem))
    return CheckResult.passed(
        name, f"GPIO backend {backend} claimed the {pins} (reader.gpio_backend: {reader.gpio_backend})"
    )
