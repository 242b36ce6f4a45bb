"""Shared fixtures for the ledger tests: a settable clock, keys, a rules document and a ledger factory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=TZ)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


class SettableClock:
    def __init__(self, now: dt.datetime = T0):
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()

    def advance(self, delta: dt.timedelta) -> None:
        self.current += delta


def lot(lot_id: str, points: int, expires_at: dt.datetime, earned_at: dt.datetime | None = None) -> dict[str, Any]:
    earned = earned_at or expires_at - dt.timedelta(days=365)
    return {"lot_id": lot_id, "points": points, "earned_at": earned.isoformat(), "expires_at": expires_at.isoformat()}


def member(
    member_id: str = "M1",
    *,
    points: int = 0,
    lots: list | None = None,
    spend_fen: int = 0,
    cards: list | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A snapshot entry; `points` gives one lot expiring in a year unless `lots` is given."""
    if lots is None:
        lots = [lot("L1", points, T0 + dt.timedelta(days=365))] if points else []
    return {
        "member_id": member_id,
        "name": "张三明",
        "spend_fen": spend_fen,
        "lots": lots,
        "cards": cards or [],
        **extra,
    }


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def open_ledger(tmp_path: Path, clock: SettableClock, key: Ed25519PrivateKey) -> Callable[..., Ledger]:
    """Open (or reopen, as after a restart) the ledger at tmp_path/ledger.db."""
    opened: list[Ledger] = []

    def _open(
        limits: OfflineLimits = OfflineLimits(points_per_day=5000, redemptions_per_day=3),
        device_id: str = "kiosk-01",
        path: Path | None = None,
    ) -> Ledger:
        ledger = Ledger.open(
            path or tmp_path / "ledger.db",
            device_id=device_id,
            clock=clock,
            tz=TZ,
            voucher_key=key,
            offline_limits=limits,
        )
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        try:
            ledger.close()
        except Exception:
            pass


@pytest.fixture
def ledger(open_ledger: Callable[..., Ledger]) -> Ledger:
    """A ledger with the demo rules (version 1) and no members."""
    led = open_ledger()
    led.apply_rules(1, demo_rules())
    return led


def with_member(ledger: Ledger, version: int = 1, **kwargs: Any) -> str:
    entry = member(**kwargs)
    ledger.apply_member_snapshot(version, [entry])
    return entry["member_id"]
