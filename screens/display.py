"""Opening the display: fullscreen without a cursor on the kiosk (KMSDRM, no X), a window on a
laptop, nothing at all under tests (SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import os

import pygame

from screens.errors import ScreensError


class DisplayError(ScreensError, RuntimeError):
    """SDL could not open a display with the requested driver."""


def open_display(*, fullscreen: bool, size: tuple[int, int] | None = None, driver: str | None = None) -> pygame.Surface:
    """The display surface.

    `driver` ("kmsdrm" on a Pi without X, "x11", "wayland", "dummy") is set before SDL starts;
    None leaves SDL to choose. Fullscreen uses the panel's native size unless `size` is given;
    windowed needs `size`. The cursor is hidden when fullscreen (a touchscreen has no pointer).
    """
    if driver:
        os.environ["SDL_VIDEODRIVER"] = driver
    try:
        pygame.display.init()
        pygame.font.init()
        if fullscreen:
            surface = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            if size is None:
                raise DisplayError("a windowed display needs a size, e.g. (800, 480)")
            surface = pygame.display.set_mode(size)
            pygame.display.set_caption("Membership kiosk")
    except pygame.error as exc:
        raise DisplayError(
            f"cannot open the display with SDL video driver {os.environ.get('SDL_VIDEODRIVER', 'auto')!r}: {exc}"
        ) from exc
    # Touch panels send finger events; SDL's mouse echo of them is ignored by screens.touch.
    pygame.event.set_blocked([pygame.KEYUP, pygame.TEXTINPUT, pygame.TEXTEDITING])
    return surface
