"""Logging for journald: levels on every line, JSON on request, and nothing secret or personal."""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile

import pytest

from app.logs import (
    RedactingFilter,
    redact_text,
    redact_uid,
    setup_logging,
    setup_logging_from_config,
    stderr_is_journal,
)


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def logged(fmt: str = "plain", secrets=(), syslog_prefix=False, **kw) -> tuple[io.StringIO, logging.Logger]:
    stream = io.StringIO()
    setup_logging("DEBUG", fmt, secrets=secrets, stream=stream, syslog_prefix=syslog_prefix, **kw)
    return stream, logging.getLogger("kiosk.test")


# --- redact_uid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "shown"),
    [
        (bytes.fromhex("04A1B2C3"), "uid:…B2C3"),
        (bytes.fromhex("04A1B2C3D43A9F"), "uid:…3A9F"),
        (bytes.fromhex("04A1B2C3D4E5F6A7B8C9"), "uid:…B8C9"),
        (b"", "uid:?"),
        (b"\x01\x02", "uid:…"),
    ],
)
def test_redact_uid_keeps_only_the_last_two_bytes(uid, shown):
    assert redact_uid(uid) == shown


# --- what redaction removes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "connecting with password=hunter2secret",
        'config {"password": "hunter2secret", "port": 8883}',
        "broker url mqtts://kiosk:hunter2secret@hq.example:8883",
        "token=hunter2secret",
        "headers Authorization: Basic hunter2secret",
    ],
)
def test_secrets_that_look_like_secrets_are_masked(line):
    assert "hunter2secret" not in redact_text(line)


def test_known_secret_values_are_masked_wherever_they_appear():
    assert redact_text("auth failed for s3cr3t-value at broker", ["s3cr3t-value"]) == "auth failed for *** at broker"


def test_a_pem_private_key_never_reaches_the_log():
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ\n-----END PRIVATE KEY-----"
    out = redact_text(f"loaded {pem} ok")
    assert "MC4CAQ" not in out and "private key removed" in out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tap uid=04A1B2C3D43A9F ok", "tap uid:…3A9F ok"),
        ("card_uid: 04:a1:b2:c3 read", "uid:…B2C3 read"),
        ("UID 04 A1 B2 C3 removed", "uid:…B2C3 removed"),
        (
            r"CardPresented(uid=b'\x04\xa1\xb2\xc3:\x9f', card_type='ntag213')",
            "CardPresented(uid:…3A9F, card_type='ntag213')",
        ),
    ],
)
def test_card_uids_are_shortened(line, expected):
    assert redact_text(line) == expected


def test_member_names_behind_name_keys_are_masked():
    out = redact_text('member {"member_id": "M100", "name": "Alice Wong", "tier": "gold"} name=Bob')
    assert "Alice" not in out and "Bob" not in out
    assert "M100" in out and "gold" in out  # ids and codes stay: technicians need them


def test_chinese_text_in_a_log_line_is_masked_as_member_data():
    assert redact_text("greeting 张三丰 at the kiosk") == "greeting 张** at the kiosk"


def test_ordinary_lines_pass_unchanged():
    line = "relay published seq 41 (outbox 3), hostname=kiosk-07, rules v12"
    assert redact_text(line) == line


# --- through the logging machinery ----------------------------------------------------------


def test_plain_lines_carry_level_and_logger_and_no_timestamp():
    stream, log = logged()
    log.warning("reader %s", "reset")
    assert stream.getvalue() == "WARNING kiosk.test: reader reset\n"


def test_redaction_applies_to_arguments_not_only_the_format_string():
    stream, log = logged(secrets=["pa55word!"])
    log.info("login %s with %s for uid=%s", "Alice", "pa55word!", "04A1B2C3D43A9F")
    out = stream.getvalue()
    assert "pa55word!" not in out and "04A1B2C3D4" not in out and "uid:…3A9F" in out


def test_redaction_applies_to_tracebacks():
    stream, log = logged(secrets=["pa55word!"])
    try:
        raise ConnectionError("broker refused password=pa55word! for uid=04A1B2C3D43A9F")
    except ConnectionError:
        log.exception("link down")
    out = stream.getvalue()
    assert "Traceback" in out and "ConnectionError" in out
    assert "pa55word!" not in out and "04A1B2C3D4" not in out


def test_records_from_any_logger_pass_the_filter():
    stream, _ = logged()
    logging.getLogger("paho.client").warning("password=leak1234")
    logging.getLogger("drivers.reader").warning("uid=04A1B2C3D43A9F")
    assert "leak1234" not in stream.getvalue() and "04A1B2C3D4" not in stream.getvalue()


def test_journald_priority_prefix_marks_every_line_of_a_record():
    stream, log = logged(syslog_prefix=True)
    log.error("first\nsecond")
    log.info("fine")
    assert stream.getvalue().splitlines() == [
        "<3>ERROR kiosk.test: first",
        "<3>second",
        "<6>INFO kiosk.test: fine",
    ]


def test_json_format_writes_one_parsable_object_per_line():
    stream, log = logged("json")
    log.info("outbox %d", 3)
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        log.exception("tick failed for uid=04A1B2C3D43A9F")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "INFO" and first["logger"] == "kiosk.test" and first["msg"] == "outbox 3"
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exc"]
    assert second["msg"] == "tick failed for uid:…3A9F"


def test_json_keeps_chinese_as_text_after_masking():
    stream, log = logged("json")
    log.info("store %s", "欢迎光临")
    assert json.loads(stream.getvalue())["msg"] == "store 欢***"


def test_setting_up_twice_replaces_rather_than_doubles_the_handler():
    stream1, _ = logged()
    stream2, log = logged()
    log.info("once")
    assert stream1.getvalue() == "" and stream2.getvalue().count("once") == 1


def test_unknown_format_or_level_is_a_clear_error():
    with pytest.raises(ValueError, match="format"):
        setup_logging("INFO", "xml", stream=io.StringIO())
    with pytest.raises(ValueError, match="level"):
        setup_logging("LOUD", "plain", stream=io.StringIO())


def test_a_record_with_broken_arguments_is_kept_not_lost():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "two args %s %s for %s", ("password=abc12345",), None)
    assert RedactingFilter().filter(record)
    assert "two args" in record.getMessage() and "abc12345" not in record.getMessage()


def test_journal_stream_is_detected_only_when_it_is_really_our_stderr():
    with tempfile.TemporaryFile("w") as f:
        st = os.fstat(f.fileno())
        assert stderr_is_journal(f, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not stderr_is_journal(f, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not stderr_is_journal(f, {})


def test_setup_from_config_takes_level_format_and_the_hq_password(tmp_path):
    from kiosk.config import load_config

    (tmp_path / "config.yaml").write_text(
        "device: {id: k1, store_id: s1, display_name: Shop}\n"
        "hq: {host: hq.example, username: kiosk, password: v3ry-s3cret}\n"
        "security: {hq_public_key: hq.pem, card_master_key: card.key, voucher_signing_key: v.pem}\n"
        "logging: {level: WARNING, format: json}\n"
    )
    config = load_config(tmp_path / "config.yaml", environ={})
    stream = io.StringIO()
    setup_logging_from_config(config, stream=stream)
    logging.getLogger("kiosk.test").info("hidden by level")
    logging.getLogger("kiosk.test").warning("broker said: bad credentials v3ry-s3cret")
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["msg"] == "broker said: bad credentials ***"


def test_filter_can_learn_secrets_after_creation():
    f = RedactingFilter()
    f.add_secret("late-secret")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", ("late-secret",), None)
    f.filter(record)
    assert record.getMessage() == "got ***"
