"""INSERT ... ON CONFLICT for both dialects (SQLAlchemy has one construct per dialect)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary/unique key exists; True if this call inserted the row.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and then
    does nothing: exactly one of two HQ processes wins, which is the deduplication."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # RETURNING rather than rowcount: drivers disagree on rowcount once SQLAlchemy adds RETURNING.
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(sa.literal(1))
    return conn.execute(statement).first() is not None


def upsert(conn: Connection, table: sa.Table, values: dict[str, Any], keys: list[str], update: list[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: getattr(statement.excluded, name) for name in update}
    )
    conn.execute(statement)
