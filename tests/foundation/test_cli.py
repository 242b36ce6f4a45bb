"""The `kiosk` command line: exit codes a technician and systemd can rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.cli.main import main

REPO = Path(__file__).resolve().parents[2]

BAD = """\
device:
  id: k1
  store_id: s1
  display_name: Test store
reader:
  pol_interval_ms: 40
display:
  rotation: 45
hq:
  port: abc
security:
  hq_public_key: keys/hq.pem
  card_master_key: keys/card.key
  voucher_signing_key: keys/voucher.pem
"""


def test_check_config_on_shipped_config_exits_0(capsys):
    assert main(["check-config", str(REPO / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert ": OK" in out and '"driver": "emulator"' in out


def test_check_config_reports_every_problem_with_lines_and_exits_2(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(BAD)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:3] == [
        f"{path}:6: reader.pol_interval_ms: unknown key (did you mean 'poll_interval_ms'?)",
        f"{path}:8: display.rotation: must be one of 0, 90, 180, 270 (got 45)",
        f"{path}:10: hq.port: must be a whole number (got 'abc')",
    ]
    assert err[3] == "3 problem(s) in the configuration"


def test_config_option_works_after_the_subcommand(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(BAD)
    assert main(["check-config", "--config", str(path)]) == 2


def test_check_config_prints_secrets_redacted(tmp_path, capsys):
    text = (REPO / "config.yaml").read_text().replace("  password: null ", "  password: hunter2 ")
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "**********" in out


def test_unknown_command_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "app", "frobnicate"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "KIOSK_CONFIG": str(REPO / "config.yaml")},
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_python_dash_m_kiosk_is_the_cli(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(BAD)
    result = subprocess.run(
        [sys.executable, "-m", "app", "check-config", str(path)], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 2
    assert "display.rotation" in result.stderr


def test_keys_init_creates_simulation_keys_once(tmp_path, capsys):
    text = (REPO / "config.yaml").read_text()
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["keys", "init", "--config", str(path)]) == 0
    created = capsys.readouterr().out
    assert created.count("created ") == 4
    key = tmp_path / "var/keys/voucher_signing.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert main(["keys", "init", "--config", str(path)]) == 0
    assert "created" not in capsys.readouterr().out


def test_keys_init_publishes_the_existing_hq_private_keys_half_when_the_public_file_is_missing(tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization

    from sync.keys import load_private_key, load_public_key

    path = tmp_path / "config.yaml"
    path.write_text((REPO / "config.yaml").read_text())
    assert main(["keys", "init", "--config", str(path)]) == 0
    public = tmp_path / "var/keys/hq_public.pem"
    public.unlink()
    assert main(["keys", "init", "--config", str(path)]) == 0
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert load_public_key(public).public_bytes(*raw) == load_private_key(
        tmp_path / "var/keys/hq_private.pem"
    ).public_key().public_bytes(*raw)
