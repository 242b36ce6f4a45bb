"""paho's "not connected" complaints during an outage are not errors in the kiosk's journal."""

from __future__ import annotations

import logging

import pytest

from sync.mqtt_client import _PAHO_LOG


@pytest.fixture
def paho_level():
    """Set the paho logger's level (setLevel, so logging's level cache is cleared) and restore it."""
    before = _PAHO_LOG.level
    yield _PAHO_LOG.setLevel
    _PAHO_LOG.setLevel(before)


def record(level: int, message: str) -> logging.LogRecord:
    return _PAHO_LOG.makeRecord(_PAHO_LOG.name, level, __file__, 1, message, None, None)


def test_not_connected_is_dropped_unless_debug_logging_is_on(paho_level):
    paho_level(logging.INFO)
    assert not _PAHO_LOG.filter(record(logging.ERROR, "Client is not connected. Socket: None"))


def test_not_connected_is_kept_as_debug_when_debugging(paho_level):
    paho_level(logging.DEBUG)
    rec = record(logging.ERROR, "Client is not connected. Socket: None")
    assert _PAHO_LOG.filter(rec) and rec.levelno == logging.DEBUG


def test_other_paho_errors_stay_errors(paho_level):
    paho_level(logging.INFO)
    rec = record(logging.ERROR, "failed to receive on socket: [Errno 104] Connection reset")
    assert _PAHO_LOG.filter(rec) and rec.levelno == logging.ERROR
