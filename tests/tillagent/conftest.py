"""Fixtures for the till agent: HQ's real app (migrated, no programme: vouchers need none) served on
a loopback port, on SQLite; `hq_on_both` runs a test on SQLite and on a real PostgreSQL (the
`db_url` fixture of tests/hq, imported here, over a server of our own: see `postgres`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.api.app import create_app
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from sync.topics import HqTopics
from tests.hq.conftest import db_url, postgres  # noqa: F401 (fixtures, shared with HQ's tests)
from tests.hq.test_api import serving
from tests.tillagent.world import OPERATOR, Hq, Proxy, RealClock

#: HQ's signing key: the tills trust its public half (till.yaml's hq_public_key).
HQ_KEY = Ed25519PrivateKey.generate()


@contextmanager
def running_hq(url: str, folder: Path) -> Iterator[Hq]:
    engine = open_engine(url)
    migrate(engine)
    pem = folder / "hq_public.pem"
    pem.write_bytes(HQ_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    app = create_app(
        engine, clock=RealClock(), signing_key=HQ_KEY, topics=HqTopics("acme/kiosk"), operator_token=OPERATOR
    )
    try:
        with (
            serving(app) as base,
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=30) as operator,
        ):
            hq = Hq(base, operator, pem, folder)
            hq.register_kiosk()
            yield hq
    finally:
        engine.dispose()


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    """HQ on SQLite with kiosk-01 of store S1 in its key directory."""
    with running_hq(sqlite_url(tmp_path / "hq.sqlite"), tmp_path) as world:
        yield world


@pytest.fixture
def hq_on_both(db_url: str, tmp_path: Path) -> Iterator[Hq]:  # noqa: F811 (the imported fixture)
    """The same, once on SQLite and once on PostgreSQL."""
    with running_hq(db_url, tmp_path) as world:
        yield world


@pytest.fixture
def proxy(hq: Hq) -> Iterator[Proxy]:
    middle = Proxy(hq.url)
    yield middle
    middle.close()
