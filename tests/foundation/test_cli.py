"""The `kiosk` command line: exit codes a technician and systemd can rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

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
    assert created.count("created ") == 5  # voucher key and its public half, card key, HQ's pair
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


def _voucher_keys(tmp_path):
    from kiosk.ledger.configured import load_voucher_key
    from sync.keys import load_public_key

    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    private = load_voucher_key(tmp_path / "var/keys/voucher_signing.pem").public_key().public_bytes(*raw)
    public = load_public_key(tmp_path / "var/keys/voucher_signing.pub.pem").public_bytes(*raw)
    return private, public


def _shipped_config(tmp_path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text((REPO / "config.yaml").read_text())
    return path


def test_keys_init_writes_the_voucher_keys_public_half_beside_it(tmp_path):
    assert main(["keys", "init", "--config", str(_shipped_config(tmp_path))]) == 0
    private, public = _voucher_keys(tmp_path)
    assert private == public
    assert oct((tmp_path / "var/keys/voucher_signing.pub.pem").stat().st_mode & 0o777) == "0o644"


def test_keys_init_derives_a_missing_voucher_public_key_from_the_existing_private_one(tmp_path, capsys):
    path = _shipped_config(tmp_path)
    assert main(["keys", "init", "--config", str(path)]) == 0
    (tmp_path / "var/keys/voucher_signing.pub.pem").unlink()  # a kiosk set up before the file existed
    capsys.readouterr()
    assert main(["keys", "init", "--config", str(path)]) == 0
    assert "voucher_signing.pub.pem (from " in capsys.readouterr().out
    private, public = _voucher_keys(tmp_path)
    assert private == public


def test_keys_init_refuses_a_voucher_public_key_of_another_key_and_leaves_it(tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = _shipped_config(tmp_path)
    assert main(["keys", "init", "--config", str(path)]) == 0
    foreign = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "var/keys/voucher_signing.pub.pem").write_bytes(foreign)
    capsys.readouterr()
    assert main(["keys", "init", "--config", str(path)]) == 1
    assert "is not the public half of" in capsys.readouterr().out
    assert (tmp_path / "var/keys/voucher_signing.pub.pem").read_bytes() == foreign
