"""What every route needs from HQ, wired once by `create_app` (no globals, no app.state lookups)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from sync.topics import HqTopics


class NowClock(Protocol):
    def now(self) -> dt.datetime: ...  # timezone-aware


@dataclass(frozen=True)
class Context:
    engine: Engine
    clock: NowClock
    signing_key: Ed25519PrivateKey
    topics: HqTopics

    def now(self) -> dt.datetime:
        now = self.clock.now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("HQ's clock must return timezone-aware times")
        return now
