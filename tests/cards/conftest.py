"""Fixtures for card-security tests: a fixed test master key (never a real one)."""

import pytest

from kiosk.cards.keyfile import MasterKeys

TEST_MASTER = bytes(range(0x40, 0x60))  # 32 distinct bytes; a test key, nowhere else used


@pytest.fixture
def keys() -> MasterKeys:
    return MasterKeys(TEST_MASTER, key_id=3)


@pytest.fixture
def other_keys() -> MasterKeys:
    return MasterKeys(bytes(range(0x80, 0xA0)), key_id=3)


@pytest.fixture
def faults():
    from tests.cards.reader import FAULTS

    return FAULTS


@pytest.fixture
def tap():
    """tap(card, pull_after=None) -> the real driver's TagSession for an emulated card in the field."""
    from tests.cards.reader import Reader

    return Reader().present


@pytest.fixture
def ledger(tmp_path):
    """The real SQLite ledger, seeded with the demo rules, members and cards."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.ledger import Ledger, OfflineLimits
    from kiosk.ledger.demo import seed_demo

    tz = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 3, 1, 10, 0, tzinfo=tz)

    class Clock:
        def now(self):
            return now

        def monotonic(self):
            return 0.0

    led = Ledger.open(
        tmp_path / "ledger.db",
        device_id="kiosk-t",
        clock=Clock(),
        tz=tz,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=100),
    )
    seed_demo(led, now)
    yield led
    led.close()
