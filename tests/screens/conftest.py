"""Shared fixtures for the screen tests: a headless display, fixed clocks, a UI factory and
helpers that press the screen the way a finger or a mouse would."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import datetime as dt  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

from screens import samples  # noqa: E402
from screens.fonts import find_cjk_font  # noqa: E402
from screens.ui import KioskUI  # noqa: E402


class FakeMonotonic:
    """A monotonic clock the test moves by hand; `sleep` advances it instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@pytest.fixture(scope="session", autouse=True)
def pygame_headless():
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((800, 480))
    yield
    pygame.quit()


@pytest.fixture(scope="session")
def font_path() -> Path:
    return find_cjk_font(None)


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make_ui(font_path: Path, monotonic: FakeMonotonic) -> Callable[..., KioskUI]:
    def make(
        size: tuple[int, int] = (800, 480),
        *,
        rotation: int = 0,
        locale: str = "zh_CN",
        clock: Callable[[], dt.datetime] = lambda: samples.NOW,
        **kwargs,
    ) -> KioskUI:
        surface = pygame.Surface(size)
        return KioskUI(
            surface,
            locale=locale,
            tz=samples.STORE_TZ,
            font_path=font_path,
            clock=clock,
            rotation=rotation,
            monotonic=monotonic,
            **kwargs,
        )

    return make


def finger(kind: int, ui: KioskUI, logical_pos: tuple[int, int], finger_id: int = 0) -> pygame.event.Event:
    """A touchscreen event at a logical point, in the display's normalised coordinates."""
    x, y = ui.display_point(logical_pos)
    w, h = ui._display.get_size()  # the panel the finger touches
    return pygame.event.Event(
        kind, touch_id=1, finger_id=finger_id, x=(x + 0.5) / w, y=(y + 0.5) / h, dx=0.0, dy=0.0, pressure=1.0
    )


def tap(ui: KioskUI, logical_pos: tuple[int, int], monotonic: FakeMonotonic | None = None, hold_s: float = 0.08):
    """A finger tap: down, a short hold, up. Returns the intent (or None)."""
    ui.handle_event(finger(pygame.FINGERDOWN, ui, logical_pos))
    if monotonic is not None:
        monotonic.advance(hold_s)
    return ui.handle_event(finger(pygame.FINGERUP, ui, logical_pos))


def tap_button(ui: KioskUI, key: str, monotonic: FakeMonotonic | None = None):
    return tap(ui, ui.button(key).rect.center, monotonic)
