"""tools/install-pi.sh and tools/uninstall-pi.sh: syntax, lint, dry runs, and idempotent staged installs.

Root-only steps (apt, users, venv, systemctl) cannot run here; `--dry-run` shows them and
`--root DIR` performs the file-placing half under a staging directory, which is what these
tests run twice to show that a re-run keeps what it must keep.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config import load_config

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "tools" / "install-pi.sh"
UNINSTALL = REPO / "tools" / "uninstall-pi.sh"


def sh(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["bash", *map(str, args)], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def install(root: Path, *extra: str) -> str:
    return sh(INSTALL, "--root", root, *extra).stdout


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=lambda p: p.name)
def test_scripts_parse(script):
    assert sh("-n", script).returncode == 0


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt install shellcheck)")
@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=lambda p: p.name)
def test_scripts_pass_shellcheck(script):
    proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_the_dry_run_shows_every_step_of_a_real_install(tmp_path):
    plan = sh(INSTALL, "--dry-run").stdout
    for step in (
        "apt-get install",
        "fonts-wqy-microhei",
        "useradd --system",
        "python3 -m venv /opt/kiosk/venv",
        "/opt/kiosk/venv/bin/pip install --quiet --upgrade /opt/kiosk/src\\[pi\\]",
        "/etc/kiosk/config.yaml",
        "dtparam=spi=on",
        "install -m 0644",
        "systemctl enable kiosk.service",
        "systemctl restart kiosk.service",
    ):
        assert step in plan, step


def test_a_dry_run_changes_nothing_and_is_the_same_twice(tmp_path):
    first = sh(INSTALL, "--dry-run", "--root", tmp_path).stdout
    second = sh(INSTALL, "--dry-run", "--root", tmp_path).stdout
    assert first == second
    assert list(tmp_path.iterdir()) == []


def test_a_staged_install_places_code_config_and_unit(tmp_path):
    install(tmp_path)
    assert (tmp_path / "opt/kiosk/src/pyproject.toml").is_file()
    assert not (tmp_path / "opt/kiosk/src/.git").exists()
    assert (tmp_path / "etc/kiosk/config.yaml").read_text() == (REPO / "tools/pi-config.yaml").read_text()
    assert (tmp_path / "etc/kiosk/config.yaml").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "etc/systemd/system/kiosk.service").read_bytes() == (REPO / "systemd/kiosk.service").read_bytes()


def test_re_running_keeps_an_edited_config_and_env(tmp_path):
    install(tmp_path)
    config = tmp_path / "etc/kiosk/config.yaml"
    env = tmp_path / "etc/kiosk/kiosk.env"
    config.write_text(config.read_text().replace("kiosk-CHANGE-ME", "kiosk-shop-7"))
    env.write_text("KIOSK_HQ_PASSWORD=set-by-technician\n")
    second = install(tmp_path)
    assert "keep existing /etc/kiosk/config.yaml" in second
    assert "keep existing /etc/kiosk/kiosk.env" in second
    assert "keep unchanged /etc/systemd/system/kiosk.service" in second
    assert "kiosk-shop-7" in config.read_text()
    assert env.read_text() == "KIOSK_HQ_PASSWORD=set-by-technician\n"


def test_re_running_refreshes_the_code_and_leaves_no_half_copies(tmp_path):
    install(tmp_path)
    stale = tmp_path / "opt/kiosk/src/stale_file.py"
    stale.write_text("old")
    install(tmp_path)
    assert not stale.exists()
    # src, plus the list of masks uninstall-pi.sh may remove (tests/ops/test_console_lockdown.py)
    assert sorted(p.name for p in (tmp_path / "opt/kiosk").iterdir()) == ["masked-units", "src"]


def test_a_changed_unit_is_replaced(tmp_path):
    install(tmp_path)
    unit = tmp_path / "etc/systemd/system/kiosk.service"
    unit.write_text("[Service]\nExecStart=/bin/false\n")
    assert "install -m 0644" in install(tmp_path)
    assert unit.read_bytes() == (REPO / "systemd/kiosk.service").read_bytes()


def test_spi_off_prints_the_exact_line_to_add(tmp_path):
    boot = tmp_path / "boot/firmware/config.txt"
    boot.parent.mkdir(parents=True)
    boot.write_text("dtparam=audio=on\n#dtparam=spi=on\n")
    out = install(tmp_path)
    assert "SPI is off. Add this line to /boot/firmware/config.txt, then reboot:\n    dtparam=spi=on" in out


def test_spi_on_in_config_but_no_device_says_reboot(tmp_path):
    boot = tmp_path / "boot/firmware/config.txt"
    boot.parent.mkdir(parents=True)
    boot.write_text("dtparam=spi=on\n")
    assert "is missing: reboot" in install(tmp_path)


def test_spi_device_present_is_reported_as_on(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/spidev0.0").touch()
    assert "SPI is on" in install(tmp_path)


def test_the_device_config_template_is_a_valid_config():
    config = load_config(REPO / "tools/pi-config.yaml", environ={})
    assert config.reader.driver == "spi"
    assert str(config.ledger.data_dir) == "/var/lib/kiosk"  # the unit's StateDirectory
    assert not config.simulation.enabled


def test_uninstall_keeps_the_ledger_unless_purged(tmp_path):
    install(tmp_path)
    ledger = tmp_path / "var/lib/kiosk/ledger.sqlite"
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b"events HQ has not acknowledged")
    out = sh(UNINSTALL, "--root", tmp_path).stdout
    assert "kept /var/lib/kiosk" in out
    assert ledger.exists() and not (tmp_path / "opt/kiosk").exists()
    assert not (tmp_path / "etc/systemd/system/kiosk.service").exists()
    sh(UNINSTALL, "--root", tmp_path)  # again: nothing left to do, still fine
    sh(UNINSTALL, "--root", tmp_path, "--purge")
    assert not ledger.exists() and not (tmp_path / "etc/kiosk").exists()


def test_unknown_options_are_refused(tmp_path):
    proc = sh(INSTALL, "--frobnicate", check=False)
    assert proc.returncode == 2 and "unknown option" in proc.stderr
