"""The kiosk's clock: wall time in the store's timezone plus a monotonic clock for timeouts."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo


class StoreClock:
    """What every component takes as `clock`: `now()` (aware, store timezone) and `monotonic()`."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def monotonic(self) -> float:
        return time.monotonic()
