"""systemd/kiosk.service: the settings the kiosk relies on, `systemd-analyze verify` and its security score.

The systemd-analyze tests run wherever the binary exists (no running systemd is needed: both
commands work offline on a file) and skip elsewhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "kiosk.service"
MAX_EXPOSURE = 3.5

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def unit_settings(path: Path = UNIT) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value in file order (keys like DeviceAllow repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"setting outside a section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return unit_settings()


def last(unit, section: str, key: str) -> str | None:
    values = unit[section].get(key)
    return values[-1] if values else None


# --- what the kiosk relies on ---------------------------------------------------------------


def test_the_service_speaks_the_notify_protocol_with_a_watchdog(unit):
    assert last(unit, "Service", "Type") == "notify"
    assert last(unit, "Service", "NotifyAccess") == "main"
    assert int(last(unit, "Service", "WatchdogSec")) > 0


def test_it_runs_the_venv_entry_point_with_the_etc_config(unit):
    assert last(unit, "Service", "ExecStart") == "/opt/kiosk/venv/bin/kiosk run --config /etc/kiosk/config.yaml"


def test_a_burst_of_crashes_never_leaves_it_dead(unit):
    assert last(unit, "Service", "Restart") == "always"
    assert last(unit, "Unit", "StartLimitIntervalSec") == "0"  # no start limit at all
    assert float(last(unit, "Service", "RestartSec")) > 0  # but no hot restart loop either


def test_it_runs_as_the_kiosk_user_with_only_the_hardware_groups(unit):
    assert last(unit, "Service", "User") == "kiosk"
    groups = set(" ".join(unit["Service"]["SupplementaryGroups"]).split())
    # kiosk-touch, not input: the installer's udev rule gives that group the touch panel and
    # nothing else, so a keyboard stays unreadable (tests/ops/test_console_lockdown.py).
    assert groups == {"spi", "gpio", "video", "render", "kiosk-touch", "dialout"}


def test_state_and_config_live_where_the_installer_puts_them(unit):
    assert last(unit, "Service", "StateDirectory") == "kiosk"  # /var/lib/kiosk
    assert last(unit, "Service", "ConfigurationDirectory") == "kiosk"  # /etc/kiosk
    assert last(unit, "Service", "WorkingDirectory") == "/var/lib/kiosk"


def test_sdl_draws_straight_onto_kms_drm(unit):
    env = dict(v.split("=", 1) for v in unit["Service"]["Environment"])
    assert env["SDL_VIDEODRIVER"] == "kmsdrm"


def test_hardening_does_not_hide_the_reader_display_or_touchscreen(unit):
    assert last(unit, "Service", "PrivateDevices") in (None, "no")
    assert "PrivateUsers" not in unit["Service"]  # would unmap the spi/gpio/video groups
    assert last(unit, "Service", "DevicePolicy") == "closed"
    allowed = dict(v.split() for v in unit["Service"]["DeviceAllow"])
    assert {"char-spi", "char-gpiochip", "char-drm", "char-input", "char-ttyAMA"} <= allowed.keys()
    assert allowed["char-input"] == "r"  # SDL and the input wait only read the touch panel


def test_no_capabilities_and_no_new_privileges(unit):
    assert unit["Service"]["CapabilityBoundingSet"] == [""]
    assert last(unit, "Service", "NoNewPrivileges") == "yes"
    assert last(unit, "Service", "ProtectSystem") == "strict"
    assert last(unit, "Service", "ProtectHome") == "yes"
    assert last(unit, "Service", "PrivateTmp") == "yes"
    assert last(unit, "Service", "RestrictAddressFamilies")


# --- systemd's own checks ---------------------------------------------------------------------


def _fake_root(tmp_path: Path) -> Path:
    """A filesystem root holding the unit, systemd's stock units and an executable entry point.

    `verify` checks that ExecStart= is executable and that dependencies resolve; with --root it
    looks for both under this directory instead of the build machine's own /opt and /etc.
    """
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system/kiosk.service")
    entry = root / "opt/kiosk/venv/bin/kiosk"
    entry.parent.mkdir(parents=True)
    entry.write_text("#!/bin/sh\n")
    entry.chmod(0o755)
    for stock in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if stock.is_dir():
            shutil.copytree(stock, root / "usr/lib/systemd/system", symlinks=True, dirs_exist_ok=True)
            break
    return root


@needs_systemd_analyze
def test_systemd_analyze_verify_is_clean(tmp_path):
    root = _fake_root(tmp_path)
    proc = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/kiosk.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    # Unknown keys and unparsable values are only warnings, so any output at all is a failure.
    assert proc.stderr.strip() == "" and proc.stdout.strip() == "", proc.stderr + proc.stdout


@needs_systemd_analyze
def test_systemd_analyze_verify_catches_a_broken_copy(tmp_path):
    """The check above can fail: a typo in the unit is reported."""
    root = _fake_root(tmp_path)
    broken = root / "etc/systemd/system/kiosk.service"
    broken.write_text(broken.read_text().replace("Type=notify", "Type=notfy"))
    proc = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/kiosk.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "notfy" in proc.stderr


def exposure_of(unit_path: Path) -> float:
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    return float(match.group(1))


@needs_systemd_analyze
def test_security_exposure_is_at_most_3_5():
    assert exposure_of(UNIT) <= MAX_EXPOSURE


@needs_systemd_analyze
def test_security_exposure_is_recorded_in_the_operations_docs():
    docs = (REPO / "docs" / "operations.md").read_text()
    figure = exposure_of(UNIT)
    assert f"exposure level for kiosk.service: {figure}" in docs, f"docs should record {figure}"


@needs_systemd_analyze
def test_the_exposure_figure_reacts_to_weaker_hardening(tmp_path):
    """The score test can fail: dropping the sandbox pushes exposure over the limit."""
    weak = tmp_path / "kiosk.service"
    kept = [
        line
        for line in UNIT.read_text().splitlines()
        if not line.startswith(("Protect", "Private", "Restrict", "SystemCall", "Capability", "NoNew"))
    ]
    weak.write_text("\n".join(kept) + "\n")
    assert exposure_of(weak) > MAX_EXPOSURE
