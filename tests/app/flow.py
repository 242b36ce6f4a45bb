"""Driving the kiosk's real screens by synthetic touches: the session under the real `KioskUI` and
`UiLoop` (SDL dummy driver) on the 7" panel, with a fake monotonic clock; shared by the flow tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pygame

from kiosk.ui_state import Intent, UiState
from screens.fonts import find_cjk_font
from screens.loop import UiLoop
from screens.ui import KioskUI
from tests.app.inline_kiosk import InlineKiosk
from tests.screens.conftest import FakeMonotonic, finger


def ui_under_loop(
    kiosk: InlineKiosk, *, locale: str, tz: ZoneInfo, now: Callable[[], dt.datetime]
) -> tuple[KioskUI, UiLoop, FakeMonotonic]:
    """The kiosk's session under the real UI, through the loop the app runs."""
    pygame.display.init()
    pygame.font.init()
    pygame.event.clear()
    monotonic = FakeMonotonic()
    ui = KioskUI(
        pygame.Surface((800, 480)), locale=locale, tz=tz, font_path=find_cjk_font(None), clock=now,
        monotonic=monotonic,
    )  # fmt: skip

    def on_intent(intent: Intent) -> UiState:
        kiosk.session.handle(intent)
        return kiosk.session.state

    loop = UiLoop(ui, on_intent=on_intent, monotonic=monotonic, sleep=monotonic.advance, flip=lambda rects: None)
    # The display stays initialised: the screen tests' session fixture may share this process.
    return ui, loop, monotonic


def touch(ui: KioskUI, loop: UiLoop, monotonic: FakeMonotonic, pos: tuple[int, int], *, pause: int = 5) -> None:
    """A moment (`pause` idle loop steps), then a finger down and up at `pos`, through the loop."""
    for _ in range(pause):
        loop.step(max_wait_s=0.2)
    pygame.event.post(finger(pygame.FINGERDOWN, ui, pos))
    loop.step(max_wait_s=0)
    monotonic.advance(0.08)
    pygame.event.post(finger(pygame.FINGERUP, ui, pos))
    loop.step(max_wait_s=0)
