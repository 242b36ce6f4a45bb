"""Keyboard taps for the simulation window: keys 1-9 put a demo card on the reader, 0 takes it away.

Wraps the KioskUI for the UI loop: number keys go to the simulated field, every other event to
the UI unchanged. Only the simulation uses it; on a device the reader is real.
"""

from __future__ import annotations

import logging
from typing import Any

import pygame

_LOG = logging.getLogger(__name__)


class SimulationKeys:
    """The UI as the loop sees it, plus number keys that tap demo cards."""

    def __init__(self, ui: Any, simulation: Any):
        self._ui = ui
        self._simulation = simulation

    def handle_event(self, event: pygame.event.Event) -> Any:
        if event.type == pygame.KEYDOWN and pygame.K_0 <= event.key <= pygame.K_9:
            key = event.key - pygame.K_0
            if key == 0:
                self._simulation.remove()
                _LOG.info("simulation: card taken away")
            elif self._simulation.tap(key):
                _LOG.info("simulation: demo card %d on the reader", key)
            return None
        return self._ui.handle_event(event)

    def show(self, state: Any) -> None:
        self._ui.show(state)

    def input_hz(self) -> float | None:
        return self._ui.input_hz()

    def next_wakeup(self, now: float) -> float:
        return self._ui.next_wakeup(now)

    def update(self, now: float) -> None:
        self._ui.update(now)

    def draw(self) -> list[pygame.Rect]:
        return self._ui.draw()
