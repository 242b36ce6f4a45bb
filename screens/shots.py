"""Write screenshots of the main screens in both locales for the README.

    python -m screens.shots docs/screenshots [--size 800x480] [--rotation 0]

Uses the example view objects of `screens.samples` and a fixed clock, headless by default.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MAIN_SCREENS = ("idle", "member", "rewards", "confirm", "voucher", "my_vouchers", "notice_card_blocked")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m screens.shots", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", default="800x480", help="display size WxH (default 800x480)")
    parser.add_argument("--rotation", type=int, default=0, choices=(0, 90, 180, 270))
    parser.add_argument("--font", default=None, help="font file (default: a system CJK font)")
    parser.add_argument("--all", action="store_true", help="every screen, not only the main ones")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must look like 800x480, not {args.size!r}")

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from screens import samples
    from screens.errors import ScreensError
    from screens.fonts import find_cjk_font
    from screens.ui import KioskUI

    try:
        font = find_cjk_font(args.font)
    except ScreensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pygame.display.init()
    pygame.font.init()
    states = samples.all_states()
    names = list(states) if args.all else list(MAIN_SCREENS)
    for locale in ("zh_CN", "en"):
        ui = KioskUI(
            pygame.Surface((width, height)),
            locale=locale,
            tz=samples.STORE_TZ,
            font_path=font,
            clock=lambda: samples.NOW,
            rotation=args.rotation,
        )
        lw, lh = ui.logical_surface.get_size()
        for name in names:
            ui.show(states[name])
            path = ui.render_png(args.outdir / f"{name}_{locale}_{lw}x{lh}.png")
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
