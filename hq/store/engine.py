"""Opening HQ's database: SQLite for one store, the demo and tests; PostgreSQL for production.

The same SQLAlchemy Core code runs on both. What differs is set up here, once:
- SQLite: WAL, `synchronous=FULL` (a committed purchase or an ack'd event survives power loss),
  a busy timeout, and `BEGIN IMMEDIATE` for every transaction, so two writers queue for the
  write lock at the start instead of failing half-way (SQLite's deferred default).
- PostgreSQL: READ COMMITTED with explicit row locks (`SELECT ... FOR UPDATE` on the member) where
  two HQ processes could touch the same member; uniqueness constraints do the deduplication.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def open_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for `url` (`sqlite+pysqlite:///path` or `postgresql+psycopg://...`)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if url.startswith("postgresql"):
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite+pysqlite:///PATH or postgresql+psycopg://...")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Switching a new database to WAL needs a moment alone with it; a second process opening it at
    # the same time gets "database is locked" at once (no busy handler here): try again.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
