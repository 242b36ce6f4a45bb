"""What every screen needs to draw: layout, fonts, locale, store timezone and wall clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from screens.fonts import FontBook
from screens.layout import Layout
from screens.text import tr

WallClock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class RenderContext:
    layout: Layout
    fonts: FontBook
    locale: str
    tz: ZoneInfo
    clock: WallClock

    def t(self, key: str, **values: object) -> str:
        return tr(key, self.locale, **values)

    def with_locale(self, locale: str) -> RenderContext:
        return replace(self, locale=locale)

    def now(self) -> dt.datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the UI clock returned a naive datetime; it must be timezone-aware")
        return moment.astimezone(self.tz)
