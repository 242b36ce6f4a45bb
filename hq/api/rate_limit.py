"""A per-caller sliding-window limit, in memory.

Short codes are 40 bits: a till that may look them up without limit could walk the code space. Each
HQ process keeps its own windows (two processes admit twice the rate between them, still far from
enumerating 2**40 codes); a refusal is a 429 with Retry-After.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, limit: int, window_s: float, monotonic: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = monotonic
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, who: str) -> float | None:
        """None when `who` may go on; else the seconds until it may."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(who, collections.deque())
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                return hits[0] + self._window - now
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle callers rather than grow without bound
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return None
