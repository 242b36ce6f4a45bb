"""Is config.yaml valid, and are the files that may hold secrets (it, secrets.yaml) kept from other users?"""

from __future__ import annotations

import stat
from pathlib import Path

from app.doctor.core import CheckResult, DoctorContext
from kiosk.config import ConfigError, load_config, secrets_file_for

NAME = "config"


def check_config(ctx: DoctorContext) -> list[CheckResult]:
    if ctx.config is not None:
        return [CheckResult.passed(NAME, "configuration given by the caller")]
    try:
        config = load_config(ctx.config_path, environ=ctx.environ)
    except ConfigError as exc:
        where = ctx.config_path or "config.yaml"
        return [
            CheckResult.failed(
                NAME,
                f"{len(exc.problems)} problem(s):\n" + "\n".join(f"  {p}" for p in exc.problems),
                f"edit {where} at the lines listed, then re-check with: kiosk check-config {where}",
            )
        ]
    ctx.config = config
    results = [CheckResult.passed(NAME, f"{config.source} is valid (device {config.device.id})")]
    results.append(_permissions(config))
    results.append(_secrets_permissions(secrets_file_for(ctx.config_path, ctx.environ).absolute()))
    if config.simulation.enabled:
        results.append(
            CheckResult.warning(
                "simulation",
                "simulation.enabled is true: emulated reader and demo members, not real cards",
                f"on a shop device set simulation.enabled: false and reader.driver: spi in {config.source}",
            )
        )
    return results


def _permissions(config) -> CheckResult:
    source = config.source
    mode = stat.S_IMODE(source.stat().st_mode)
    if mode & stat.S_IROTH and config.hq.password is not None:
        return CheckResult.warning(
            "config permissions",
            f"{source} holds the HQ password and is readable by every user (mode {mode:04o})",
            f"sudo chown root:kiosk {source} && sudo chmod 0640 {source}",
        )
    return CheckResult.passed("config permissions", f"{source} mode {mode:04o}")


def _secrets_permissions(secrets: Path) -> CheckResult:
    name = "secrets permissions"
    if not secrets.is_file():
        return CheckResult.skip(name, f"no secrets file ({secrets})")
    mode = stat.S_IMODE(secrets.stat().st_mode)
    if mode & stat.S_IRWXO:
        return CheckResult.warning(
            name,
            f"{secrets} holds the values of !secret and is open to every user (mode {mode:04o})",
            f"sudo chown root:kiosk {secrets} && sudo chmod 0640 {secrets}",
        )
    return CheckResult.passed(name, f"{secrets} mode {mode:04o}")
