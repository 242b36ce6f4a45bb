"""`kiosk doctor` as a command: registration, exit status, --json, and the reader left alone while the service runs."""

from __future__ import annotations

import argparse
import json

from app.cli import doctor as doctor_command


def parse(*argv: str, config=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kiosk")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor_command.register(sub)
    args = parser.parse_args(["doctor", *argv])
    args.config = str(config) if config else None
    return args


def test_doctor_registers_with_json_and_returns_a_handler():
    args = parse("--json")
    assert args.json is True and callable(args.handler)


def test_json_output_and_exit_status_follow_the_checks(kiosk_setup, capsys, monkeypatch):
    # The CLI builds its own context; point it at the test layout's /dev and boot config.
    def context(args, **_):
        return kiosk_setup.context()

    monkeypatch.setattr(doctor_command, "build_context", context)
    args = parse("--json", config=kiosk_setup.config_path)
    assert args.handler(args) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    (kiosk_setup.dev / "spidev0.0").unlink()
    assert args.handler(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["reader bus"]


def test_the_reader_is_not_probed_while_the_service_runs(kiosk_setup):
    args = parse(config=kiosk_setup.config_path)
    ctx = doctor_command.build_context(args, service_active=lambda: True)
    ctx.config = None
    ctx.config_path = kiosk_setup.config_path
    from app.doctor.check_config import check_config
    from app.doctor.check_reader import check_reader

    check_config(ctx)
    result = check_reader(ctx)
    assert result.skipped and "systemctl stop kiosk" in result.detail


def test_the_real_probe_reads_version_through_the_emulator_transport(kiosk_setup):
    from kiosk.config import load_config

    kiosk_setup.write_config(reader_driver="emulator")
    reader = load_config(kiosk_setup.config_path, environ={}).reader
    assert doctor_command.real_reader_probe(reader) == reader.emulator_version


def test_reader_selftest_flag_wires_the_self_test_probe():
    assert doctor_command.build_context(parse("--reader-selftest"), service_active=lambda: False).reader_selftest
    assert doctor_command.build_context(parse(), service_active=lambda: False).reader_selftest is None


def test_the_self_test_is_not_run_while_the_service_runs(kiosk_setup):
    ctx = doctor_command.build_context(
        parse("--reader-selftest", config=kiosk_setup.config_path), service_active=lambda: True
    )
    from app.doctor.check_config import check_config
    from app.doctor.check_reader import check_reader_selftest

    check_config(ctx)
    result = check_reader_selftest(ctx)
    assert result.skipped and "systemctl stop kiosk" in result.detail


def test_the_real_self_test_probe_runs_through_the_emulator_transport(kiosk_setup):
    from kiosk.config import load_config

    kiosk_setup.write_config(reader_driver="emulator")
    reader = load_config(kiosk_setup.config_path, environ={}).reader
    assert doctor_command.real_reader_selftest(reader).passed
