"""config.yaml validation: every kind of mistake is reported with file, line and dotted key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.config import ConfigError, check_config_file, load_config, secrets_file_for

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


def test_the_voucher_public_key_lies_beside_the_private_one_unless_configured(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.security.voucher_public_key_file == (tmp_path / "keys/voucher.pub.pem").resolve()


def test_a_configured_voucher_public_key_is_resolved_like_every_path(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + "  voucher_public_key: pub/v.pem\n"), environ={})
    assert config.security.voucher_public_key_file == (tmp_path / "pub/v.pem").resolve()


def test_the_voucher_public_key_may_not_be_the_private_key_file(tmp_path):
    (problem,) = problems_of(write(tmp_path, MINIMAL + "  voucher_public_key: keys/voucher.pem\n"))
    assert "voucher_public_key must not be the voucher_signing_key file" in problem


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


# --- YAML syntax errors: the line of the mistake, not the line where PyYAML noticed it ---------


def syntax_problem(tmp_path: Path, text: str) -> tuple[int, str]:
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    line, rest = problem[len(f"{path}:") :].split(": (syntax): not valid YAML: ", 1)
    return int(line), rest


def test_a_missing_space_after_a_colon_is_blamed_on_its_line(tmp_path):
    # PyYAML reads "store_id:s1" on into line 4 and complains there.
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", "  store_id:s1"))
    assert (line, problem) == (3, "no ': ' after the key on this line (a missing colon, or no space after it?)")


def test_a_missing_space_after_the_last_colon_of_a_section_is_blamed_on_its_line(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  display_name: Test store", "  display_name:Shop"))
    assert line == 4 and "no ': ' after the key" in problem


def test_a_missing_colon_is_blamed_on_its_line(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", "  store_id s1"))
    assert line == 3 and "no ': ' after the key" in problem


def test_a_section_name_without_its_colon_is_blamed_on_its_line(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("security:", "security"))
    assert line == 5 and "no ': ' after the key" in problem


def test_an_unclosed_quote_is_blamed_on_the_line_that_opens_it(tmp_path):
    # PyYAML notices at the end of the file, four lines further down.
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  display_name: Test store", '  display_name: "Shop'))
    assert line == 4 and problem.startswith('the quote " opened on this line is never closed')


def test_a_quote_closed_only_by_the_next_quote_in_the_file_is_blamed_on_the_line_that_opens_it(tmp_path):
    text = MINIMAL.replace("  display_name: Test store", '  display_name: "Shop') + 'display:\n  font: "x.ttc"\n'
    line, problem = syntax_problem(tmp_path, text)
    assert line == 4 and problem.startswith('the quote " opened on this line closes only on line 10')


def test_an_unclosed_single_quote_is_blamed_on_the_line_that_opens_it(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", "  store_id: 's1"))
    assert line == 3 and problem.startswith("the quote ' opened on this line is never closed")


def test_an_unclosed_bracket_is_blamed_on_the_line_that_opens_it(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL + "display:\n  width: [800\nhq:\n  port: 1883\n")
    assert line == 10 and problem.startswith("the [ opened on this line is never closed")


def test_a_tab_used_for_indentation_is_blamed_on_its_line_and_named(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", "\tstore_id: s1"))
    assert line == 3 and "tabs" in problem


def test_a_key_indented_too_far_is_blamed_on_its_line(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", "    store_id: s1"))
    assert (line, problem) == (
        3,
        "this line is indented further than line 2 above it (mapping values are not allowed here)",
    )


def test_a_key_indented_too_little_is_blamed_on_its_line(tmp_path):
    line, problem = syntax_problem(tmp_path, MINIMAL.replace("  store_id: s1", " store_id: s1"))
    assert line == 3 and "indentation does not line up" in problem


def test_a_mistake_noticed_only_at_the_end_of_the_file_is_blamed_on_the_last_line(tmp_path):
    # A stray directive: PyYAML reports the (empty) line after it.
    line, _ = syntax_problem(tmp_path, MINIMAL + "%oops\n\n")
    assert line == 9


# --- hq.host: a host name, not a URL ----------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("mqtt://hq.example.com:1883", "did you mean host: hq.example.com and port: 1883?"),
        ("hq.example.com:1883", "did you mean host: hq.example.com and port: 1883?"),
        ("mqtts://hq.example.com", "did you mean host: hq.example.com and port: 8883?"),
        ("tcp://[fd00::5]:1884", "did you mean host: fd00::5 and port: 1884?"),
    ],
)
def test_a_url_in_hq_host_is_refused_with_host_and_port_spelled_out(tmp_path, written, hint):
    path = write(tmp_path, MINIMAL + f"hq:\n  host: {written!r}\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:10: hq.host: must be a host name only") and hint in problem


@pytest.mark.parametrize("host", ["hq.example.com", "10.0.0.5", "fe80::1", "localhost"])
def test_host_names_and_addresses_are_accepted(tmp_path, host):
    assert load_config(write(tmp_path, MINIMAL + f"hq:\n  host: {host!r}\n"), environ={}).hq.host == host


# --- check_config_file: the files the config names exist --------------------------------------


def file_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        check_config_file(path, environ={})
    return caught.value.problems


def with_keys(tmp_path: Path, text: str = MINIMAL) -> Path:
    """`text` as config.yaml, with the three key files it names present."""
    (tmp_path / "keys").mkdir(exist_ok=True)
    for name in ("hq.pem", "card.key", "voucher.pem"):
        (tmp_path / "keys" / name).write_text("present")
    return write(tmp_path, text)


def test_a_config_whose_files_all_exist_passes_the_file_check(tmp_path):
    assert check_config_file(with_keys(tmp_path), environ={}).config.device.id == "k1"


def test_a_missing_font_is_a_problem_naming_file_line_and_display_font(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "display:\n  font: /nowhere/wqy.ttc\n")
    (problem,) = file_problems(path)
    assert problem.startswith(f"{path}:10: display.font: /nowhere/wqy.ttc does not exist;")


def test_a_relative_font_is_found_beside_the_config_file(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + "display:\n  font: fonts/cjk.ttc\n"), environ={})
    assert config.display.font == str(tmp_path.resolve() / "fonts/cjk.ttc")


def test_missing_key_files_are_problems_at_their_keys(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert [p.split(" does not exist")[0] for p in file_problems(path)] == [
        f"{path}:7: security.card_master_key: {tmp_path.resolve() / 'keys/card.key'}",
        f"{path}:8: security.voucher_signing_key: {tmp_path.resolve() / 'keys/voucher.pem'}",
    ]


def test_a_missing_voucher_key_says_how_to_create_it(tmp_path):
    path = with_keys(tmp_path)
    (tmp_path / "keys" / "voucher.pem").unlink()
    (problem,) = file_problems(path)
    assert "kiosk keys init" in problem


def test_key_files_the_simulation_generates_need_not_exist_yet(tmp_path):
    path = write(tmp_path, MINIMAL + "simulation:\n  enabled: true\n  generate_keys: true\n")
    assert check_config_file(path, environ={}).warnings == ()


def test_hqs_public_key_is_needed_with_a_broker(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "hq:\n  host: hq.example.com\n")
    (tmp_path / "keys" / "hq.pem").unlink()
    (problem,) = file_problems(path)
    assert problem.startswith(f"{path}:6: security.hq_public_key: ")


def test_hqs_public_key_is_not_needed_offline(tmp_path):
    path = with_keys(tmp_path)  # no hq.host: HQ's pushes, and so its key, are never read
    (tmp_path / "keys" / "hq.pem").unlink()
    check_config_file(path, environ={})


def test_missing_tls_files_are_problems_at_their_keys(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "hq:\n  host: hq.example.com\n  tls_ca: tls/ca.pem\n")
    (problem,) = file_problems(path)
    assert problem.startswith(f"{path}:11: hq.tls_ca: {tmp_path.resolve() / 'tls/ca.pem'} does not exist")


def test_a_missing_serial_port_is_a_problem_at_serial_port(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "reader:\n  driver: uart\n  serial_port: /dev/ttyNOPE9\n")
    (problem,) = file_problems(path)
    assert problem.startswith(f"{path}:11: reader.serial_port: /dev/ttyNOPE9 does not exist; turn the UART on")


def test_a_missing_spi_device_is_a_problem_at_the_driver(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "reader:\n  driver: spi\n  spi_bus: 7\n  spi_device: 7\n")
    (problem,) = file_problems(path)
    assert problem.startswith(f"{path}:10: reader.driver: spi needs /dev/spidev7.7")
    assert "dtparam=spi=on" in problem


def test_the_emulated_reader_needs_no_device(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "reader:\n  driver: emulator\n  serial_port: /dev/ttyNOPE9\n")
    check_config_file(path, environ={})


def test_load_config_alone_does_not_look_for_files(tmp_path):
    # `kiosk keys init` and the doctor load a config whose files are missing.
    load_config(write(tmp_path, MINIMAL + "display:\n  font: /nowhere/wqy.ttc\n"), environ={})


# --- check_config_file: a password without TLS ------------------------------------------------


def test_a_password_without_tls_is_a_warning_at_the_password(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "hq:\n  host: hq.example.com\n  username: k1\n  password: pa55\n")
    (warning,) = check_config_file(path, environ={}).warnings
    assert warning.startswith(f"{path}:12: hq.password: warning: the password crosses the network unencrypted")
    assert "hq.tls_ca" in warning and "pa55" not in warning


def test_a_password_from_the_environment_without_tls_is_a_warning_too(tmp_path):
    path = with_keys(tmp_path, MINIMAL + "hq:\n  host: hq.example.com\n")
    (warning,) = check_config_file(path, environ={"KIOSK_HQ_PASSWORD": "from-env"}).warnings
    assert ": hq.password: warning:" in warning and "from-env" not in warning


def test_a_password_over_tls_is_no_warning(tmp_path):
    (tmp_path / "ca.pem").write_text("present")
    path = with_keys(tmp_path, MINIMAL + "hq:\n  host: hq.example.com\n  tls_ca: ca.pem\n  password: pa55\n")
    assert check_config_file(path, environ={}).warnings == ()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_a_password_to_a_broker_on_this_machine_is_no_warning(tmp_path, host):
    path = with_keys(tmp_path, MINIMAL + f"hq:\n  host: {host!r}\n  password: pa55\n")
    assert check_config_file(path, environ={}).warnings == ()


def test_the_secrets_file_is_beside_the_config_unless_the_environment_names_one(tmp_path):
    assert secrets_file_for(tmp_path / "config.yaml", {}) == tmp_path / "secrets.yaml"
    assert secrets_file_for(tmp_path / "config.yaml", {"KIOSK_SECRETS_FILE": "/run/s.yaml"}) == Path("/run/s.yaml")
