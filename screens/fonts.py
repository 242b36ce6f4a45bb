"""Finding a CJK-capable font and caching pygame fonts by pixel size.

The kiosk must show Chinese, so a font without CJK glyphs is as good as none: `find_cjk_font`
checks the configured path first, then well-known system locations (and fontconfig when present),
and fails with a message that names every place it looked and the package to install.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pygame

from screens.errors import FontNotFound

_LOG = logging.getLogger(__name__)

#: Where Debian/Raspberry Pi OS packages put CJK fonts, best first.
SYSTEM_CJK_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)

INSTALL_HINT = "install fonts-wqy-microhei (apt-get install fonts-wqy-microhei) or fonts-noto-cjk"


def find_cjk_font(
    configured: str | None, *, candidates: tuple[Path, ...] = SYSTEM_CJK_FONTS, use_fontconfig: bool = True
) -> Path:
    """The font file to draw both locales with.

    A configured path must exist (a typo there is an error, not a silent fallback). Without one,
    the first existing system candidate wins, then whatever fontconfig knows for `zh-cn`.
    """
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FontNotFound(
                f"configured font {str(path)!r} does not exist or is not a file; "
                f"fix ui.font in config.yaml or remove it to use a system CJK font ({INSTALL_HINT})"
            )
        if not draws_chinese(path):
            raise FontNotFound(
                f"configured font {str(path)!r} has no Chinese characters; point ui.font at a CJK font ({INSTALL_HINT})"
            )
        return path
    for path in candidates:
        if path.is_file() and draws_chinese(path):
            return path
    found = _fontconfig_cjk() if use_fontconfig else None
    if found is not None:
        return found
    looked = ", ".join(str(p) for p in candidates)
    raise FontNotFound(
        f"no CJK font found: looked in {looked}"
        f"{' and asked fontconfig (fc-match :lang=zh-cn)' if use_fontconfig else ''}; {INSTALL_HINT}"
    )


def draws_chinese(path: Path) -> bool:
    """True when the font has real glyphs for Chinese (a font without them draws the same box)."""
    if not pygame.font.get_init():
        pygame.font.init()
    try:
        font = pygame.font.Font(str(path), 24)
    except (pygame.error, OSError) as exc:
        _LOG.warning("cannot open font %s: %s", path, exc)
        return False
    white = (255, 255, 255)
    one, two = (pygame.image.tobytes(font.render(ch, True, white), "RGBA") for ch in ("金", "银"))
    return one != two


def _fontconfig_cjk() -> Path | None:
    """Ask fontconfig for a font covering Simplified Chinese; None when it has none or is absent."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        _LOG.warning("fc-list failed: %s", exc)
        return None
    for line in sorted(out.splitlines()):
        path = Path(line.split(":", 1)[0].strip())
        if path.suffix.lower() in {".ttf", ".ttc", ".otf"} and path.is_file() and draws_chinese(path):
            return path
    return None


class FontBook:
    """pygame fonts from one file, cached by (pixel size, bold); opened on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}

    def get(self, size: int, bold: bool = False) -> pygame.font.Font:
        key = (max(6, int(size)), bold)
        font = self._fonts.get(key)
        if font is None:
            if not pygame.font.get_init():
                pygame.font.init()
            font = pygame.font.Font(str(self.path), key[0])
            # The CJK fonts we ship have one weight; SDL_ttf's emboldening gives the headings
            # and big numbers their weight.
            font.set_bold(bold)
            self._fonts[key] = font
        return font
