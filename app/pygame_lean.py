"""Importing pygame without the parts `kiosk run` never uses (a few MB resident on a Pi).

Kept apart from the runtime so bench/kiosk.py can measure what it saves.
"""

from __future__ import annotations

import sys

#: Imports pygame's __init__ attempts that `kiosk run` does not need, each with its cost.
#: pygame.pkgdata imports setuptools' pkg_resources when it can (a Python 3.11 venv has setuptools)
#: only to locate pygame's bundled default font and icon; its ImportError fallback finds the same
#: files by path. pkg_resources scans every installed distribution: ~6 MB resident, 0.1 s.
#: pygame.mixer_music and pygame.mixer load SDL_mixer and its codec libraries (vorbis, opus, FLAC,
#: mpg123, fluidsynth, pulse): ~5 MB resident. The kiosk plays no sound.
_PYGAME_IMPORTS_SKIPPED = ("pkg_resources", "pygame.mixer_music", "pygame.mixer")


def import_pygame_lean() -> None:
    """Import pygame with the modules in `_PYGAME_IMPORTS_SKIPPED` looking absent.

    pygame's __init__ catches their ImportError (`pygame.mixer` becomes a MissingModule). The
    markers are removed afterwards, so an explicit `import pygame.mixer` later still works.
    bench/kiosk.py measures the resident memory this saves.
    """
    if "pygame" in sys.modules:
        return
    marked = [name for name in _PYGAME_IMPORTS_SKIPPED if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import pygame  # noqa: F401 - imported for its side effect, while the markers are in place
    finally:
        for name in marked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
