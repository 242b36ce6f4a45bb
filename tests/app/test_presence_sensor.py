"""The simulation's presence sensor in a whole kiosk (app.bootstrap.build_app): wired to the reader
thread when config names reader.presence_pin, set through the control socket's `presence`
command; an intent from the control socket counts as a touch."""

from __future__ import annotations

import pytest

from app import sim_control
from app.bootstrap import build_app
from kiosk.config import load_config
from tests.app.conftest import wait_for, write_config


@pytest.fixture
def sensing_app(tmp_path):
    config = write_config(tmp_path, reader={"presence_pin": 17, "presence_hold_s": 0.5})
    app = build_app(load_config(config, environ={}))
    yield app
    app.close()


def test_without_presence_pin_the_reader_has_no_sensor_and_never_backs_off(kiosk_app):
    assert kiosk_app.reader_thread.presence is None
    assert kiosk_app.reader_thread.next_wait([]) == kiosk_app.reader.poll_interval_s


def test_the_simulations_sensor_is_the_readers_and_the_control_socket_sets_it(sensing_app):
    thread = sensing_app.reader_thread
    assert thread.presence is sensing_app.simulation.presence
    assert thread.idle_interval_s == 0.25  # reader.idle_poll_interval_ms's default
    wait_for(lambda: thread.backed_off, sensing_app, "the hold time to pass with nobody near")
    assert thread.next_wait([]) == 0.25
    assert sim_control.run_command(sensing_app, {"cmd": "presence", "near": True}) == {"ok": True}
    assert thread.next_wait([]) == sensing_app.reader.poll_interval_s
    reply = sim_control.run_command(sensing_app, {"cmd": "presence", "near": "yes"})
    assert reply["ok"] is False and "near: true or false" in reply["error"]


def test_an_intent_from_the_control_socket_is_a_touch(sensing_app):
    thread = sensing_app.reader_thread
    wait_for(lambda: thread.backed_off, sensing_app, "the hold time to pass with nobody near")
    sim_control.run_command(sensing_app, {"cmd": "intent", "intent": "done"})
    assert not thread.backed_off
