"""`kiosk doctor` on a healthy installation and on installations broken one way at a time.

Each test starts from `kiosk_setup` (a healthy layout under tmp_path: config, real key files, a
real ledger, a fake /dev with character nodes, a boot config with SPI on, the emulated reader)
and breaks exactly one thing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections import namedtuple

import pytest

from app.doctor import CheckResult, Severity, exit_status, render_json, render_text, run_checks
from app.doctor.check_clock import judge_clock
from drivers.chips import VERSIONS
from drivers.emulator import Field, MFRC522Emulator
from drivers.mfrc522 import Mfrc522
from drivers.transport import open_transport

from .conftest import NOW, make_char_node


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def failures(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results if r.status == "fail"}


# --- healthy --------------------------------------------------------------------------------


def test_a_healthy_kiosk_passes_every_check(kiosk_setup):
    results = kiosk_setup.run()
    assert failures(results) == {}
    assert [r.name for r in results if r.status == "warn"] == []
    assert exit_status(results) == 0
    checked = by_name(results)
    assert "VersionReg 0x92" in checked["reader"].detail
    assert checked["database ledger.sqlite"].ok


def test_the_text_report_says_healthy_and_lists_each_check(kiosk_setup):
    text = render_text(kiosk_setup.run())
    assert text.splitlines()[-1].startswith("HEALTHY:")
    assert "[ok  ] reader" in text


def test_the_json_report_is_parsable_and_carries_the_verdict(kiosk_setup):
    report = json.loads(render_json(kiosk_setup.run()))
    assert report["ok"] is True
    assert {c["status"] for c in report["checks"]} <= {"pass", "skip"}
    assert all({"name", "status", "severity", "detail", "fix"} <= set(c) for c in report["checks"])


# --- SPI ------------------------------------------------------------------------------------


def test_no_spi_node_and_spi_off_says_which_line_to_add(kiosk_setup):
    (kiosk_setup.dev / "spidev0.0").unlink()
    kiosk_setup.boot_config.write_text("dtparam=audio=on\n#dtparam=spi=on\n")
    results = kiosk_setup.run(reader_probe=lambda r: (_ for _ in ()).throw(FileNotFoundError("/dev/spidev0.0")))
    bus = failures(results)["reader bus"]
    assert "spidev0.0 does not exist" in bus.detail
    assert f"add the line `dtparam=spi=on` to {kiosk_setup.boot_config}, then reboot" in bus.fix
    assert exit_status(results) == 1


def test_no_spi_node_although_spi_is_on_says_reboot(kiosk_setup):
    (kiosk_setup.dev / "spidev0.0").unlink()
    bus = failures(kiosk_setup.run())["reader bus"]
    assert "already in" in bus.fix and "reboot" in bus.fix


def test_spi_turned_on_together_with_other_params_counts_as_on(kiosk_setup):
    (kiosk_setup.dev / "spidev0.0").unlink()
    kiosk_setup.boot_config.write_text("dtparam=i2c_arm=on,spi=on\n")
    assert "already in" in failures(kiosk_setup.run())["reader bus"].fix


def test_an_spi_node_the_service_user_cannot_open_is_a_permission_failure(kiosk_setup):
    node = kiosk_setup.dev / "spidev0.0"
    node.unlink()
    make_char_node(node, 0o600)  # root only, like a missing udev rule
    bus = failures(kiosk_setup.run(service_user="nobody"))["reader bus"]
    assert "cannot open" in bus.detail
    assert "usermod -aG spi nobody" in bus.fix


def test_a_regular_file_is_not_taken_for_a_device(kiosk_setup):
    node = kiosk_setup.dev / "spidev0.0"
    node.unlink()
    node.write_text("")
    assert "not a character device" in failures(kiosk_setup.run())["reader bus"].detail


def test_uart_reader_checks_the_serial_port_instead(kiosk_setup):
    kiosk_setup.write_config(reader_driver="uart", **{"serial_port: /dev/ttyAMA0": "serial_port: /dev/ttyS9"})
    bus = failures(kiosk_setup.run())["reader bus"]
    assert "ttyS9 does not exist" in bus.detail and "enable_uart=1" in bus.fix


# --- the reader itself ------------------------------------------------------------------------


def test_a_dead_reader_in_the_emulator_reads_version_zero_and_fails(kiosk_setup):
    kiosk_setup.reader_version = 0x00  # the emulator's dead bus: every register reads 0x00
    reader = failures(kiosk_setup.run())["reader"]
    assert "VersionReg reads 0x00" in reader.detail
    assert "check wiring" in reader.fix and "3.3 V" in reader.fix


def test_a_reader_bus_that_reads_ff_is_dead_too(kiosk_setup):
    kiosk_setup.reader_version = 0xFF
    assert "0xff" in failures(kiosk_setup.run())["reader"].detail


def test_a_clone_chip_passes_with_its_name(kiosk_setup):
    kiosk_setup.reader_version = 0x88
    assert "FM17522" in by_name(kiosk_setup.run())["reader"].detail


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_the_doctor_and_the_driver_name_and_accept_every_chip_of_the_one_table(kiosk_setup, version):
    """Before issue 18 the doctor passed 0xB2 while the driver called it a bus fault."""
    kiosk_setup.reader_version = version
    reader = by_name(kiosk_setup.run())["reader"]
    assert reader.status == "pass" and VERSIONS[version].name in reader.detail
    driver = Mfrc522(open_transport("emulator", chip=MFRC522Emulator(Field(), version=version)))
    assert driver.init() == version and driver.chip == VERSIONS[version].name


def test_an_unknown_version_warns_and_says_the_kiosk_accepts_it(kiosk_setup):
    kiosk_setup.reader_version = 0x55
    reader = by_name(kiosk_setup.run())["reader"]
    assert reader.status == "warn" and "accepts it" in reader.detail and "--reader-selftest" in reader.fix


def test_a_board_whose_reset_pin_just_rose_is_not_reported_silent(kiosk_setup):
    """Everything reads 0x00 until the chip's oscillator runs; the doctor waits as the driver does."""
    kiosk_setup.reader_just_reset = True
    assert by_name(kiosk_setup.run())["reader"].status == "pass"


# --- the digital self-test (kiosk doctor --reader-selftest) ---------------------------------------


def test_without_the_flag_there_is_no_self_test_line(kiosk_setup):
    assert "reader self-test" not in by_name(kiosk_setup.run())


@pytest.mark.parametrize("version", [0x91, 0x92])
def test_an_nxp_chip_passes_the_self_test(kiosk_setup, version):
    kiosk_setup.reader_version = version
    result = by_name(kiosk_setup.run(reader_selftest=kiosk_setup.reader_selftest))["reader self-test"]
    assert result.status == "pass" and "passed" in result.detail and "re-initialised" in result.detail


def test_a_clone_without_a_reference_says_so_and_is_not_a_failure(kiosk_setup):
    kiosk_setup.reader_version = 0x12
    results = kiosk_setup.run(reader_selftest=kiosk_setup.reader_selftest)
    result = by_name(results)["reader self-test"]
    assert result.status == "skip" and "no reference for this chip" in result.detail
    assert exit_status(results) == 0


def test_a_counterfeit_failing_the_self_test_is_a_warning_that_names_it(kiosk_setup):
    kiosk_setup.reader_self_test = bytes(64)
    results = kiosk_setup.run(reader_selftest=kiosk_setup.reader_selftest)
    result = by_name(results)["reader self-test"]
    assert result.status == "warn" and "FAILED" in result.detail and "NXP MFRC522 v2.0" in result.detail
    assert "replace the reader module" in result.fix
    assert exit_status(results) == 0  # it may still read cards: not a reason to call the kiosk broken


def test_a_silent_reader_skips_the_self_test(kiosk_setup):
    kiosk_setup.reader_version = 0x00
    result = by_name(kiosk_setup.run(reader_selftest=kiosk_setup.reader_selftest))["reader self-test"]
    assert result.skipped and "reader check did not pass" in result.detail


def test_an_unknown_version_is_a_warning_not_a_failure(kiosk_setup):
    kiosk_setup.reader_version = 0x55
    results = kiosk_setup.run()
    assert by_name(results)["reader"].status == "warn"
    assert exit_status(results) == 0


def test_a_probe_that_raises_is_reported_with_its_reason(kiosk_setup):
    def broken(_reader):
        raise OSError(121, "Remote I/O error")

    reader = failures(kiosk_setup.run(reader_probe=broken))["reader"]
    assert "Remote I/O error" in reader.detail


# --- display and fonts ----------------------------------------------------------------------


def test_no_drm_device_fails_with_the_kms_overlay_fix(kiosk_setup):
    for node in (kiosk_setup.dev / "dri").iterdir():
        node.unlink()
    display = failures(kiosk_setup.run())["display"]
    assert "vc4-kms-v3d" in display.fix


def test_a_missing_configured_font_fails(kiosk_setup):
    kiosk_setup.write_config(**{"display: {fullscreen: true}": "display: {fullscreen: true, font: /nowhere/x.ttf}"})
    assert "fonts-wqy-microhei" in failures(kiosk_setup.run())["fonts"].fix


def test_no_cjk_font_on_the_system_fails(kiosk_setup, tmp_path):
    not_a_font = tmp_path / "fake.ttc"
    not_a_font.write_text("hello")
    fonts = failures(kiosk_setup.run(font_candidates=[not_a_font]))["fonts"]
    assert "Chinese" in fonts.detail


# --- storage --------------------------------------------------------------------------------


def test_a_corrupt_database_fails_with_recovery_steps(kiosk_setup):
    size = kiosk_setup.ledger_path.stat().st_size
    with open(kiosk_setup.ledger_path, "r+b") as f:  # keep the header, trash the pages
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    db = failures(kiosk_setup.run())["database ledger.sqlite"]
    assert "integrity" in db.detail
    assert "systemctl stop kiosk" in db.fix


def test_a_file_that_is_not_sqlite_at_all_fails(kiosk_setup):
    kiosk_setup.ledger_path.write_bytes(b"this is not a database" * 100)
    assert "database ledger.sqlite" in failures(kiosk_setup.run())


def test_the_integrity_probe_never_creates_or_changes_files(kiosk_setup):
    before = sorted(p.name for p in kiosk_setup.data_dir.iterdir())
    kiosk_setup.run()
    assert not (kiosk_setup.data_dir / "ghost.sqlite").exists()
    with sqlite3.connect(kiosk_setup.ledger_path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    assert sorted(p.name for p in kiosk_setup.data_dir.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        n for n in before if not n.endswith(("-wal", "-shm"))
    ]


def test_quarantined_ledgers_are_a_warning_to_send_to_hq(kiosk_setup):
    (kiosk_setup.data_dir / "ledger.sqlite.corrupt-20270101T000000").write_bytes(b"old")
    leftovers = by_name(kiosk_setup.run())["quarantined ledgers"]
    assert leftovers.status == "warn" and "HQ" in leftovers.fix


def test_low_disk_space_fails_and_little_disk_space_warns(kiosk_setup):
    usage = namedtuple("usage", "total used free")
    mib = 1024 * 1024
    assert (
        by_name(kiosk_setup.run(disk_usage=lambda p: usage(8000 * mib, 7950 * mib, 50 * mib)))["disk"].status == "fail"
    )
    assert (
        by_name(kiosk_setup.run(disk_usage=lambda p: usage(8000 * mib, 7700 * mib, 300 * mib)))["disk"].status == "warn"
    )


def test_a_data_dir_the_service_user_cannot_write_fails(kiosk_setup):
    kiosk_setup.data_dir.chmod(0o755)  # owned by the test runner, not by "nobody"
    data = failures(kiosk_setup.run(service_user="nobody"))["data dir"]
    assert "cannot write" in data.detail and "chown" in data.fix


# --- clock ----------------------------------------------------------------------------------


def test_a_clock_years_behind_the_ledger_fails_with_ntp_and_rtc_advice(kiosk_setup):
    clock = failures(kiosk_setup.run(now=lambda: NOW - dt.timedelta(days=3 * 365)))["clock"]
    assert "before the newest recorded time" in clock.detail
    assert "timedatectl set-ntp true" in clock.fix and "RTC" in clock.fix


def test_a_clock_years_ahead_without_ntp_fails(kiosk_setup):
    results = kiosk_setup.run(now=lambda: NOW + dt.timedelta(days=4 * 365), ntp_synchronized=lambda: False)
    assert "after anything recorded" in failures(results)["clock"].detail
    assert by_name(results)["ntp"].status == "warn"


def test_a_long_power_off_with_ntp_synchronised_is_fine(kiosk_setup):
    assert by_name(kiosk_setup.run(now=lambda: NOW + dt.timedelta(days=800)))["clock"].ok


def test_hours_of_drift_are_tolerated(kiosk_setup):
    assert by_name(kiosk_setup.run(now=lambda: NOW - dt.timedelta(hours=12)))["clock"].ok


def test_hqs_signed_issue_time_counts_as_evidence():
    now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    verdict = judge_clock(now, [("HQ deny-list issued_at", dt.datetime(2027, 1, 1, tzinfo=dt.UTC))], None)
    assert not verdict.ok and verdict.problem == "behind" and "HQ deny-list" in verdict.detail


def test_the_clock_is_judged_against_the_install_date_without_a_ledger(kiosk_setup):
    kiosk_setup.ledger_path.unlink()
    results = kiosk_setup.run(now=lambda: dt.datetime(1970, 1, 1, 0, 5, tzinfo=dt.UTC))
    assert "software installed" in failures(results)["clock"].detail


# --- config and keys --------------------------------------------------------------------------


def test_an_invalid_config_fails_with_file_and_line_and_skips_the_rest(kiosk_setup):
    kiosk_setup.write_config(**{"reader: {driver: spi,": "reader: {driver: nfc,"})
    results = kiosk_setup.run()
    config = failures(results)["config"]
    assert f"{kiosk_setup.config_path}:3: reader.driver" in config.detail
    assert "kiosk check-config" in config.fix
    assert by_name(results)["reader"].skipped and by_name(results)["keys"].skipped
    assert exit_status(results) == 1


def test_a_missing_config_file_fails(kiosk_setup):
    kiosk_setup.config_path.unlink()
    assert "file not found" in failures(kiosk_setup.run())["config"].detail


def test_a_world_readable_config_with_a_password_is_a_warning(kiosk_setup):
    kiosk_setup.hq_extra = ", password: pa55word"
    kiosk_setup.write_config()
    kiosk_setup.config_path.chmod(0o644)
    perm = by_name(kiosk_setup.run())["config permissions"]
    assert perm.status == "warn" and "0640" in perm.fix


def test_a_missing_signing_key_fails_and_says_how_to_create_it(kiosk_setup):
    (kiosk_setup.keys / "voucher_signing.pem").unlink()
    key = failures(kiosk_setup.run())["key voucher_signing_key"]
    assert "kiosk keys init" in key.fix


def test_a_world_readable_card_master_key_fails(kiosk_setup):
    (kiosk_setup.keys / "card_master.key").chmod(0o644)
    assert "0644" in failures(kiosk_setup.run())["key card_master_key"].detail


def test_a_garbled_hq_public_key_fails(kiosk_setup):
    (kiosk_setup.keys / "hq_public.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n"
    )
    assert "not usable" in failures(kiosk_setup.run())["key hq_public_key"].detail


# --- the runner ---------------------------------------------------------------------------------


def test_a_check_that_crashes_becomes_a_failure_not_a_traceback(kiosk_setup):
    def exploding(ctx):
        raise KeyError("surprise")

    exploding.check_name = "exploding"
    results = run_checks(kiosk_setup.context(), [exploding])
    assert results[0].name == "exploding" and results[0].status == "fail" and "KeyError" in results[0].detail


def test_warnings_alone_do_not_fail_the_run():
    results = [CheckResult.passed("a", "fine"), CheckResult.warning("b", "meh", "do x")]
    assert exit_status(results) == 0
    assert exit_status(results + [CheckResult.failed("c", "bad", "do y")]) == 1
    assert exit_status([CheckResult("d", False, Severity.INFO, "odd")]) == 0
