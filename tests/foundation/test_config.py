"""config.yaml validation: every kind of mistake is reported with file, line and dotted key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config.yaml"

MINIMAL = """\
device:
  id: k1
  store_id: s1
  display_name: Test store
security:
  hq_public_key: keys/hq.pem
  card_master_key: keys/card.key
  voucher_signing_key: keys/voucher.pem
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=kwargs.get("environ", {}))
    return caught.value.problems


def test_shipped_config_is_valid_and_runs_the_simulation():
    config = load_config(SHIPPED, environ={})
    assert config.simulation.enabled
    assert config.reader.driver == "emulator"
    assert not config.hq.enabled


def test_minimal_config_fills_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.reader.spi_speed_hz == 4_000_000
    assert config.display.rotation == 0
    assert config.device.timezone == "Asia/Shanghai"


def test_default_keepalive_notices_a_silently_dead_link_within_40_seconds(tmp_path):
    # Found by bench.chaos's frozen broker: with 60 s, a dead link counted as online (redemptions
    # skipping the offline limits) for ~2 minutes. paho gives up after about 2 x keepalive.
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert 2 * config.hq.keepalive_s <= 40


def test_relative_paths_resolve_against_the_config_directory(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.security.card_master_key == (tmp_path / "keys/card.key").resolve()
    assert config.ledger.data_dir == (tmp_path / "var").resolve()


def test_unknown_key_names_line_and_suggests_the_right_one(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  pol_interval_ms: 40\n")
    assert problems_of(path) == [f"{path}:10: reader.pol_interval_ms: unknown key (did you mean 'poll_interval_ms'?)"]


def test_unknown_section_lists_the_known_ones(tmp_path):
    path = write(tmp_path, MINIMAL + "screen:\n  width: 800\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:9: screen: unknown key")
    assert "display" in problem


def test_wrong_type_names_the_expected_type(tmp_path):
    path = write(tmp_path, MINIMAL + "hq:\n  port: abc\n")
    assert problems_of(path) == [f"{path}:10: hq.port: must be a whole number (got 'abc')"]


def test_out_of_range_choice_lists_allowed_values(tmp_path):
    path = write(tmp_path, MINIMAL + "display:\n  rotation: 45\n")
    assert problems_of(path) == [f"{path}:10: display.rotation: must be one of 0, 90, 180, 270 (got 45)"]


def test_out_of_range_number_gives_the_bound(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  spi_speed_hz: 125000000\n")
    assert problems_of(path) == [f"{path}:10: reader.spi_speed_hz: must be at most 10000000 (got 125000000)"]


def test_missing_required_value_points_at_its_section(tmp_path):
    path = write(tmp_path, MINIMAL.replace("  store_id: s1\n", ""))
    assert problems_of(path) == [f"{path}:1: device.store_id: required value is missing"]


def test_missing_required_section_is_reported(tmp_path):
    path = write(tmp_path, MINIMAL.split("security:")[0])
    assert problems_of(path) == [f"{path}:1: security: required value is missing"]


def test_all_problems_are_reported_together_in_line_order(tmp_path):
    text = MINIMAL + "reader:\n  pol_interval_ms: 40\ndisplay:\n  rotation: 45\n  fullscreen: maybe\nhq:\n  port: abc\n"
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert [p.split(": ")[1] for p in problems] == [
        "reader.pol_interval_ms",
        "display.rotation",
        "display.fullscreen",
        "hq.port",
    ]
    assert [int(p.split(":")[1]) for p in problems] == [10, 12, 13, 15]


def test_unknown_timezone_is_rejected(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("  display_name: Test store\n", "  display_name: Test store\n  timezone: Mars/Olympus\n"),
    )
    (problem,) = problems_of(path)
    assert "device.timezone: unknown timezone 'Mars/Olympus'" in problem


def test_tls_certificate_without_key_is_rejected(tmp_path):
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  tls_cert: a.pem\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:9: hq: ") and "tls_cert and tls_key must be given together" in problem


def test_duplicate_key_is_an_error(tmp_path):
    path = write(tmp_path, MINIMAL + "display:\n  width: 800\n  width: 1024\n")
    assert problems_of(path) == [f"{path}:11: display.width: key appears twice"]


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, MINIMAL + "display:\n  width: [800\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:") and "not valid YAML" in problem


def test_missing_file_is_a_config_error(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}:1: file not found (pass --config PATH or set KIOSK_CONFIG)"
    ]


def test_secret_comes_from_secrets_file_and_is_redacted(tmp_path):
    write(tmp_path, "mqtt_password: s3cret-value\n", "secrets.yaml")
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  password: !secret mqtt_password\n")
    config = load_config(path, environ={})
    assert config.hq.password.get_secret_value() == "s3cret-value"
    assert config.redacted()["hq"]["password"] == "**********"
    assert "s3cret-value" not in repr(config)


def test_missing_secret_names_the_secrets_file(tmp_path):
    write(tmp_path, "other: x\n", "secrets.yaml")
    path = write(tmp_path, MINIMAL + "hq:\n  password: !secret mqtt_password\n")
    (problem,) = problems_of(path)
    assert problem == f"{path}:10: hq.password: secret 'mqtt_password' not found in {tmp_path / 'secrets.yaml'}"


def test_environment_overrides_mqtt_credentials(tmp_path):
    path = write(tmp_path, MINIMAL)
    config = load_config(path, environ={"KIOSK_HQ_USERNAME": "kiosk-7", "KIOSK_HQ_PASSWORD": "from-env"})
    assert config.hq.username == "kiosk-7"
    assert config.hq.password.get_secret_value() == "from-env"


def test_config_is_frozen(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    with pytest.raises(ValidationError):
        config.display.width = 1024  # type: ignore[misc]


def test_every_setting_is_documented_in_the_config_reference():
    from kiosk.config import Config

    reference = (REPO / "docs/config.md").read_text(encoding="utf-8")
    for section_name, section in Config.model_fields.items():
        if section_name == "source":
            continue
        assert f"## {section_name}" in reference
        for key in section.annotation.model_fields:
            assert f"`{key}`" in reference, f"{section_name}.{key} missing from docs/config.md"


def test_a_badly_typed_secret_is_reported_without_its_value(tmp_path):
    # An unquoted all-digit password is an int to YAML: the problem is reported, the digits are not.
    write(tmp_path, "mqtt_password: 20240917314159\n", "secrets.yaml")
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  password: !secret mqtt_password\n")
    (problem,) = problems_of(path)
    assert "hq.password" in problem and "must be text" in problem
    assert "20240917314159" not in problem and "2024" not in problem


def test_a_badly_typed_password_in_config_yaml_is_reported_without_its_value(tmp_path):
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  password: 8675309123\n")
    (problem,) = problems_of(path)
    assert "must be text" in problem and "8675309123" not in problem


def test_a_badly_typed_username_is_reported_without_its_value(tmp_path):
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  username: 5551234567\n")
    (problem,) = problems_of(path)
    assert "hq.username" in problem and "5551234567" not in problem


def test_other_values_are_still_quoted_in_problems(tmp_path):
    path = write(tmp_path, MINIMAL + "display:\n  width: wide\n")
    (problem,) = problems_of(path)
    assert "'wide'" in problem


@pytest.mark.integration
@pytest.mark.parametrize("command", [["check-config"], ["doctor", "--json"], ["voucher", "verify", "AAAA"]])
def test_no_cli_command_echoes_a_badly_typed_secret(tmp_path, command):
    write(tmp_path, "mqtt_password: 20240917314159\n", "secrets.yaml")
    path = write(tmp_path, MINIMAL + "hq:\n  host: broker\n  password: !secret mqtt_password\n")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(path), *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
        timeout=60,
    )
    assert result.returncode in (1, 2)  # doctor reports a failed config check as 1, the others exit 2
    assert "hq.password" in result.stdout + result.stderr
    assert "20240917314159" not in result.stdout + result.stderr
