"""`kiosk check-config` and `kiosk run` as a technician meets them: child processes on a config
with one mistake each.

check-config finds every file the config names and the kiosk needs (FILE:LINE: key: message,
exit 2); `kiosk run` refuses such a config the same way. Every other expected start-up failure (a
font that draws no Chinese, a broken key file, a reader port that will not open) is one line on
stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from tests.app.conftest import write_config

pytestmark = pytest.mark.integration


def kiosk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )


def run_headless(tmp_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return kiosk(tmp_path, "run", "--headless", "--out", str(tmp_path / "out"), "--config", str(config))


def line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` that starts (after indentation) with `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.lstrip().startswith(text))


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


# --- check-config -------------------------------------------------------------------------------


def test_check_config_names_a_missing_font_with_its_file_line_and_key(tmp_path):
    config = write_config(tmp_path, display={"font": str(tmp_path / "fonts/wqy.ttc")})
    result = kiosk(tmp_path, "check-config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"{config}:{line_of(config, 'font:')}: display.font: {tmp_path / 'fonts/wqy.ttc'} does not exist; "
        "point display.font at a CJK font, or leave it empty to use one installed on the system"
    )


def test_check_config_spells_out_host_and_port_for_a_url_in_hq_host(tmp_path):
    config = write_config(tmp_path, hq={"host": "mqtt://hq.example.com:1883"})
    result = kiosk(tmp_path, "check-config", str(config))
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{config}:{line_of(config, 'host:')}: hq.host: must be a host name only")
    assert first.endswith("did you mean host: hq.example.com and port: 1883?")


def test_check_config_warns_that_a_password_without_tls_crosses_the_network(tmp_path):
    config = write_config(tmp_path, hq={"host": "hq.example.com", "username": "k1", "password": "s3cret-pw"})
    result = kiosk(tmp_path, "check-config", str(config))
    assert result.returncode == 0 and f"{config}: OK" in result.stdout
    assert result.stderr.startswith(
        f"{config}:{line_of(config, 'password:')}: hq.password: warning: the password crosses the network unencrypted"
    )
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_check_config_points_at_the_line_of_an_unclosed_quote(tmp_path):
    # The next quote in the file (the 7" of a comment) closes it, lines further on, where PyYAML gives up.
    shipped = Path(__file__).resolve().parents[2] / "config.yaml"
    config = tmp_path / "config.yaml"
    config.write_text(shipped.read_text(encoding="utf-8").replace("display_name: ", 'display_name: "'), "utf-8")
    opened = line_of(config, "display_name:")
    closed = next(n for n, line in enumerate(config.read_text("utf-8").splitlines(), 1) if n > opened and '"' in line)
    result = kiosk(tmp_path, "check-config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(
        f'{config}:{opened}: (syntax): not valid YAML: the quote " opened on this line closes only on line {closed}'
    )


# --- kiosk run ----------------------------------------------------------------------------------


def test_run_refuses_a_missing_font_as_check_config_does(tmp_path):
    config = write_config(tmp_path, display={"font": str(tmp_path / "fonts/wqy.ttc")})
    result = run_headless(tmp_path, config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{config}:{line_of(config, 'font:')}: display.font: ")


def test_run_with_a_font_that_draws_no_chinese_says_so_in_one_line(tmp_path):
    latin_only = Path(pygame.__file__).parent / pygame.font.get_default_font()
    config = write_config(tmp_path, display={"font": str(latin_only)})
    result = run_headless(tmp_path, config)
    assert result.returncode == 1
    assert last_line(result).startswith(
        f"kiosk: cannot start: {config}: display.font: {latin_only} draws no Chinese characters"
    )
    assert "ui.font" not in result.stderr


@pytest.mark.parametrize(
    "key, file", [("card_master_key", "card_master.key"), ("voucher_signing_key", "voucher_signing.pem")]
)
def test_run_with_a_broken_key_file_names_the_key_in_one_line(tmp_path, key, file):
    config = write_config(tmp_path)  # the simulation generates the key files that are missing, not broken ones
    broken = tmp_path / "var/keys" / file
    broken.parent.mkdir(parents=True)
    broken.write_text("not a key\n")
    broken.chmod(0o600)
    result = run_headless(tmp_path, config)
    assert result.returncode == 1
    assert last_line(result).startswith(f"kiosk: cannot start: security.{key}: {broken}")


def test_run_with_a_reader_port_that_will_not_open_says_so_in_one_line(tmp_path):
    not_a_tty = tmp_path / "ttyFAKE"
    not_a_tty.write_bytes(b"")
    config = write_config(tmp_path, reader={"driver": "uart", "serial_port": str(not_a_tty), "reset_pin": None})
    result = run_headless(tmp_path, config)
    assert result.returncode == 1
    assert last_line(result).startswith(
        f"kiosk: cannot start: reader.driver uart: cannot open the reader: cannot open serial port {not_a_tty}"
    )


def test_run_with_a_data_dir_it_cannot_create_names_the_key_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    config = write_config(tmp_path, ledger={"data_dir": "a-file/data"})
    result = run_headless(tmp_path, config)
    assert result.returncode == 1
    assert last_line(result).startswith(
        f"kiosk: cannot start: ledger.data_dir: cannot create {tmp_path / 'a-file/data'}"
    )
