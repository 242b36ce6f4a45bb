"""Renders the kiosk's member and rewards screens for sample members under draft rules, in a
process of its own: `python -m hq.console.preview_worker < request.json > answer.json`.

The console's web process never imports this module (nor pygame or screens): hq.console.rules
starts it as a subprocess with `SDL_VIDEODRIVER=dummy`, so a crash or a slow font load stays out of
HQ's server, and the picture is the kiosk's own: the draft goes through the kiosk's ledger
(`Ledger.apply_rules`, i.e. kiosk.ledger.rules.parse_rules), the members through
`apply_member_snapshot` exactly as a kiosk receives HQ's member entries, and the views are the
ledger's `member_view` / `reward_options` drawn by screens.ui.KioskUI.

Request: {"version": N, "rules": <kiosk rules document>, "members": [<HQ member entries>],
"locales": ["zh_CN", "en"], "now": RFC 3339, "tz": "Asia/Shanghai", "size": [800, 480]}.
Answer: {"images": [{"member_id", "screen", "locale", "png": base64}]} or {"error": text}.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


class _FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now


def render(request: dict[str, Any], workdir: Path) -> list[dict[str, str]]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from kiosk.ledger import Ledger, OfflineLimits
    from kiosk.ui_state import MemberHome, Rewards
    from screens.fonts import find_cjk_font
    from screens.ui import KioskUI

    tz = ZoneInfo(str(request.get("tz", "Asia/Shanghai")))
    now = dt.datetime.fromisoformat(str(request["now"])).astimezone(tz)
    clock = _FixedClock(now)
    width, height = (int(v) for v in request.get("size", (800, 480)))
    ledger = Ledger.open(
        workdir / "preview-ledger.db",
        device_id="preview",
        clock=clock,
        tz=tz,
        voucher_key=None,
        offline_limits=OfflineLimits(points_per_day=0, redemptions_per_day=0),
    )
    images: list[dict[str, str]] = []
    try:
        ledger.apply_rules(int(request["version"]), request["rules"])
        ledger.apply_member_snapshot(1, request["members"], full=True)
        pygame.display.init()
        pygame.font.init()
        font = find_cjk_font(None)
        for locale in request.get("locales", ["zh_CN", "en"]):
            ui = KioskUI(pygame.Surface((width, height)), locale=locale, tz=tz, font_path=font, clock=clock.now)
            for entry in request["members"]:
                member_id = entry["member_id"]
                view = ledger.member_view(member_id)
                states: dict[str, MemberHome | Rewards] = {
                    "member": MemberHome(view, True),
                    "rewards": Rewards(view, ledger.reward_options(member_id), True),
                }
                for screen, state in states.items():
                    ui.show(state)
                    path = ui.render_png(workdir / f"{member_id}-{screen}-{locale}.png")
                    images.append(
                        {
                            "member_id": member_id,
                            "screen": screen,
                            "locale": locale,
                            "png": base64.b64encode(path.read_bytes()).decode(),
                        }
                    )
    finally:
        ledger.close()
    return images


def main() -> int:
    request = json.load(sys.stdin)
    with tempfile.TemporaryDirectory(prefix="hq-preview-") as folder:
        try:
            answer: dict[str, Any] = {"images": render(request, Path(folder))}
        except Exception as exc:  # noqa: BLE001 - the console shows why the draft did not render
            answer = {"error": f"{type(exc).__name__}: {exc}"}
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
