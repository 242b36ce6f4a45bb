"""Fixtures for HQ: its database on both backends. PostgreSQL is a real server this test run
starts itself (tests/hq/postgres.py), one per pytest worker, with a fresh database per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from tests.hq.postgres import Postgres

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One server per pytest worker, outside pytest's temp root: another pytest run of the same user
    resets that root to mode 0700, and the server's user (`nobody` when we are root) could then no
    longer reach its data directory to stop it. fsync off: a test server's data dies with the run;
    durability across kill -9 is about the server process, which keeps its page cache (the benchmark
    runs with fsync on)."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-test-pg-"))
    server = Postgres(folder, fsync=False)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "hq.sqlite")
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database(f"hq_test_{next(_databases)}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
