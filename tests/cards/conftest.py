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
