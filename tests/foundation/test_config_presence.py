"""reader.presence_pin and the poll back-off it allows: validated where the line is known."""

from __future__ import annotations

from kiosk.config import load_config
from tests.foundation.test_config import MINIMAL, problems_of, write


def test_no_sensor_by_default_and_documented_defaults(tmp_path):
    reader = load_config(write(tmp_path, MINIMAL), environ={}).reader
    assert reader.presence_pin is None
    assert reader.presence_active == "high" and reader.idle_poll_interval_ms == 250 and reader.presence_hold_s == 10


def test_a_sensor_on_a_pin_of_its_own_is_accepted(tmp_path):
    text = (
        MINIMAL + "reader:\n  driver: spi\n  presence_pin: 17\n  presence_active: low\n  idle_poll_interval_ms: 200\n"
    )
    reader = load_config(write(tmp_path, text), environ={}).reader
    assert (reader.presence_pin, reader.presence_active, reader.idle_poll_interval_ms) == (17, "low", 200)


def test_the_sensor_may_not_share_the_reset_pin(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  driver: spi\n  presence_pin: 25\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:9: reader: ") and "presence_pin BCM25 is also the reset_pin" in problem


def test_a_sensor_needs_a_gpio_library_on_a_device(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  driver: spi\n  gpio_backend: none\n  presence_pin: 17\n")
    (problem,) = problems_of(path)
    assert "presence_pin needs a GPIO library" in problem


def test_the_idle_interval_may_not_be_shorter_than_the_poll_interval(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  presence_pin: 17\n  idle_poll_interval_ms: 20\n")
    (problem,) = problems_of(path)
    assert "idle_poll_interval_ms (20) must not be shorter than poll_interval_ms (28)" in problem


def test_the_hold_time_has_bounds(tmp_path):
    path = write(tmp_path, MINIMAL + "reader:\n  presence_hold_s: 0.1\n")
    assert problems_of(path) == [f"{path}:10: reader.presence_hold_s: must be at least 0.5 (got 0.1)"]
