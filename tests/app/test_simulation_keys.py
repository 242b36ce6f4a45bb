"""The simulation window: number keys put demo cards on the emulated reader, 0 takes them away."""

from __future__ import annotations

import pygame
import pytest

from app.sim_keys import SimulationKeys
from kiosk.ui_state import MemberHome
from tests.app.conftest import wait_for

pytestmark = pytest.mark.integration


class RecordingUi:
    """Stands in for KioskUI to see which events reach it (the keys are what is tested here)."""

    def __init__(self) -> None:
        self.events: list[pygame.event.Event] = []

    def handle_event(self, event: pygame.event.Event) -> None:
        self.events.append(event)


def key(k: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0)


def test_number_key_taps_that_demo_card_and_zero_takes_it_away(kiosk_app):
    ui = RecordingUi()
    keys = SimulationKeys(ui, kiosk_app.simulation)
    keys.handle_event(key(pygame.K_3))
    wait_for(lambda: isinstance(kiosk_app.session.state, MemberHome), kiosk_app, "card 3 read")
    assert kiosk_app.session.state.member.member_id == "M0003"
    keys.handle_event(key(pygame.K_0))
    wait_for(lambda: kiosk_app.reader.present_uid is None, kiosk_app, "card removed")
    assert ui.events == []  # number keys are the simulation's, not the UI's


def test_other_events_reach_the_ui(kiosk_app):
    ui = RecordingUi()
    keys = SimulationKeys(ui, kiosk_app.simulation)
    touch = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 10), button=1)
    keys.handle_event(touch)
    assert ui.events == [touch]
    assert kiosk_app.simulation.present_key is None
