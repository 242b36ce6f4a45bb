"""The reader's bus (SPI device node or UART) and the GPIO pins, with their permissions."""

from __future__ import annotations

import re
from pathlib import Path

from app.doctor.core import CheckResult, DoctorContext, Severity
from app.doctor.probes import group_name

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


def check_gpio(ctx: DoctorContext) -> CheckResult:
    name = "gpio"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    reader = ctx.config.reader
    if reader.driver not in ("spi", "mfrc522") or (reader.reset_pin is None and reader.irq_pin is None):
        return CheckResult.skip(name, "no reset/IRQ pin wired to GPIO")
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
    return CheckResult(name, True, Severity.INFO, f"{usable[0]} usable for reset pin BCM{reader.reset_pin}")
