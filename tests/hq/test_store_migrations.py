"""HQ's schema comes from numbered migrations, identical on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from hq.store import tables
from hq.store.engine import open_engine
from hq.store.migrations import MIGRATIONS, SchemaTooNew, current_version, migrate

pytestmark = pytest.mark.integration


def test_a_new_database_gets_every_migration_once(db_url):
    engine = open_engine(db_url)
    assert migrate(engine) == [m.version for m in MIGRATIONS]
    assert migrate(engine) == []
    with engine.connect() as conn:
        assert current_version(conn) == MIGRATIONS[-1].version
    engine.dispose()


def test_two_processes_starting_together_migrate_once(db_url):
    engines = [open_engine(db_url) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(migrate, engines))
    assert sorted(len(r) for r in results) == [0, len(MIGRATIONS)]
    for engine in engines:
        engine.dispose()


def test_a_database_from_a_newer_hq_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(
            tables.schema_migrations.insert().values(version=999, name="future", applied_at=dt.datetime.now(dt.UTC))
        )
    with pytest.raises(SchemaTooNew, match="999"):
        migrate(engine)


def test_times_come_back_aware_and_equal(engine):
    moment = dt.datetime(2026, 12, 3, 21, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with engine.begin() as conn:
        conn.execute(tables.alarms.insert().values(kind="k", subject="s", detail="d", raised_at=moment))
        (back,) = conn.execute(sa.select(tables.alarms.c.raised_at)).one()
    assert back == moment and back.tzinfo is not None


def test_naive_times_are_refused(engine):
    with pytest.raises(sa.exc.StatementError, match="naive"), engine.begin() as conn:
        conn.execute(
            tables.alarms.insert().values(kind="k", subject="s", detail="d", raised_at=dt.datetime(2026, 1, 1))
        )
