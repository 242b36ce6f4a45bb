"""How often a card-security observation may become a security event: `EventRateLimit`.

Some observations repeat for as long as somebody keeps trying: a cloned UID is tapped again and
again, or a card is put back on the reader over and over. Each event goes to HQ through the
ledger's outbox, so an unlimited stream would fill the outbox and bury everything else in it.
The limit allows one event per UID per `per_uid_s` and at most `global_max` in any
`global_window_s`; what it holds back is counted, and the next event recorded for that UID says
how many were held back since (`suppressed_since_last`), so HQ still learns that it went on.

It lives in memory: a restart forgets it, which costs at most one more event per UID.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: One event per UID per 10 minutes, and at most 30 an hour over all UIDs.
PER_UID_S = 600.0
GLOBAL_MAX = 30
GLOBAL_WINDOW_S = 3600.0


class EventRateLimit:
    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        per_uid_s: float = PER_UID_S,
        global_max: int = GLOBAL_MAX,
        global_window_s: float = GLOBAL_WINDOW_S,
    ) -> None:
        if per_uid_s < 0 or global_max < 1 or global_window_s <= 0:
            raise ValueError("per_uid_s must be >= 0, global_max >= 1 and global_window_s > 0")
        self._monotonic = monotonic
        self._per_uid_s = per_uid_s
        self._global_max = global_max
        self._window_s = global_window_s
        self._last: dict[bytes, float] = {}  # UID -> when its last event was allowed
        self._recent: deque[float] = deque()  # when each event of the current window was allowed
        self._held_back: dict[bytes, int] = {}
        self.suppressed_total = 0

    def allow(self, uid: bytes) -> int | None:
        """None if an event for `uid` must be held back now; otherwise the number held back for
        this UID since its last event (0 usually), and the event counts as recorded."""
        uid = bytes(uid)
        now = self._monotonic()
        self._forget_before(now)
        last = self._last.get(uid)
        if (last is not None and now - last < self._per_uid_s) or len(self._recent) >= self._global_max:
            self._held_back[uid] = self._held_back.get(uid, 0) + 1
            self.suppressed_total += 1
            return None
        self._last[uid] = now
        self._recent.append(now)
        return self._held_back.pop(uid, 0)

    def _forget_before(self, now: float) -> None:
        # Bounded memory under a flood of distinct UIDs: only UIDs still inside their interval
        # are kept (and at most `global_max` events are allowed per window, so that many UIDs).
        while self._recent and now - self._recent[0] >= self._window_s:
            self._recent.popleft()
        for uid in [u for u, at in self._last.items() if now - at >= self._per_uid_s]:
            del self._last[uid]
        if len(self._held_back) > 4 * self._global_max:
            # Counts for UIDs that never get an event again: keep the memory bounded, lose only counts.
            self._held_back.clear()
