"""Which input the UI loop waits on, by SDL video driver (display.input_wait, screens/loop.py)."""

from __future__ import annotations

import pygame
import pytest

from app.runtime import _input_sources
from drivers.input_devices import EvdevInputs
from screens.loop import NoInputs


@pytest.fixture
def display():
    pygame.display.init()  # SDL_VIDEODRIVER=dummy in tests
    yield
    pygame.display.quit()


def test_headless_the_loop_waits_for_nothing_but_its_own_events(display):
    assert pygame.display.get_driver() == "dummy"
    assert isinstance(_input_sources("auto"), NoInputs)


def test_poll_always_polls_sdl(display):
    assert _input_sources("poll") is None


@pytest.mark.parametrize("driver, expected", [("kmsdrm", EvdevInputs), ("x11", type(None)), ("wayland", type(None))])
def test_on_the_pi_console_the_loop_waits_on_the_input_devices(display, monkeypatch, driver, expected):
    # The decision table only: this machine has neither a KMS display nor /dev/input.
    monkeypatch.setattr(pygame.display, "get_driver", lambda: driver)
    assert type(_input_sources("auto")) is expected
