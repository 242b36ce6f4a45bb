"""One use case, one transaction, and one retry when a concurrent twin got there first.

Two HQ processes (or two threads) may handle the same till request at once: a till that timed out
retries while its first attempt is still running. Both pass the idempotency check before either
commits; the database's unique keys then let exactly one of them commit and fail the other with an
IntegrityError. Running the use case once more, in a new transaction, takes its replay path and
answers what the first one did. PostgreSQL's serialization failures and deadlocks are retried the
same way. One retry is enough: the row that made the first attempt fail is committed by then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Connection, Engine

_LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: PostgreSQL SQLSTATEs meaning "this transaction lost a race; run it again".
_PG_RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def lost_a_race(exc: BaseException) -> bool:
    """An error a concurrent transaction caused, which a fresh attempt resolves."""
    if isinstance(exc, sa_exc.IntegrityError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return getattr(exc.orig, "sqlstate", None) in _PG_RETRYABLE
    return False


def run_in_transaction(
    engine: Engine, fn: Callable[[Connection], T], *, retry_if: Callable[[Exception], bool] | None = None
) -> T:
    """`fn(conn)` in a transaction; once more in a new one if it lost a race (or `retry_if` says so)."""
    try:
        with engine.begin() as conn:
            return fn(conn)
    except Exception as exc:
        if not (lost_a_race(exc) or (retry_if is not None and retry_if(exc))):
            raise
        _LOG.info("retrying once after %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    with engine.begin() as conn:
        return fn(conn)
