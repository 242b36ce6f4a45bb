"""Keyboard taps for the simulation window: keys 1-9 put a demo card on the reader, 0 takes it away.

Wraps the KioskUI for the UI loop: number keys go to the simulated field, every other event to
the UI unchanged. Only the simulation uses it; on a device the reader is real.
"""

from __future__ import annotations

import logging

import pygame

from app.simulation import SimulatedCards
from kiosk.ui_state import Intent, UiState
from screens.loop import LoopTarget

_LOG = logging.getLogger(__name__)


class SimulationKeys:
    """The UI as the loop sees it, plus number keys that tap demo cards."""

    def __init__(self, ui: LoopTarget, simulation: SimulatedCards):
        self._ui = ui
        self._simulation = simulation

    def handle_event(self, event: pygame.event.Event) -> Intent | None:
        if event.type == pygame.KEYDOWN and pygame.K_0 <= event.key <= pygame.K_9:
            key = event.key - pygame.K_0
            if key == 0:
                self._simulation.remove()
                _LOG.info("simulation: card taken away")
            elif self._simulation.tap(key):
                _LOG.info("simulation: demo card %d on the reader", key)
            return None
        return self._ui.handle_event(event)

    def show(self, state: UiState) -> None:
        self._ui.show(state)

    def input_hz(self) -> float | None:
        return self._ui.input_hz()

    def next_wakeup(self, now: float) -> float:
        return self._ui.next_wakeup(now)

    def update(self, now: float) -> None:
        self._ui.update(now)

    def draw(self) -> list[pygame.Rect]:
        return self._ui.draw()
