"""Pieces of the HQ API without a server: run_in_transaction (a use case that lost a race to its
twin runs once more, in a new transaction) and the request models' agreement with the service."""

from __future__ import annotations

from typing import get_args

import pytest
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from hq.api.models import PaidWith
from hq.api.transactions import run_in_transaction
from hq.service import till
from hq.service.errors import DuplicateOrder, NotFound


@pytest.fixture
def engine():
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE once (key TEXT PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE log (line TEXT)")
    yield engine
    engine.dispose()


def lines(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT line FROM log").scalars())


def test_an_integrity_error_rolls_back_and_runs_the_use_case_once_more(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO once VALUES ('k')")  # the twin that committed first
    calls = []

    def use_case(conn):
        calls.append(1)
        conn.exec_driver_sql(f"INSERT INTO log VALUES ('attempt {len(calls)}')")
        if len(calls) == 1:
            conn.exec_driver_sql("INSERT INTO once VALUES ('k')")
        return "replayed"

    assert run_in_transaction(engine, use_case) == "replayed"
    assert lines(engine) == ["attempt 2"]  # the first attempt left nothing behind


def test_only_one_retry_then_the_error_stands(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO once VALUES ('k')")
    calls = []

    def always_conflicts(conn):
        calls.append(1)
        conn.exec_driver_sql("INSERT INTO once VALUES ('k')")

    with pytest.raises(sa_exc.IntegrityError):
        run_in_transaction(engine, always_conflicts)
    assert len(calls) == 2


def test_other_errors_are_not_retried_unless_asked(engine):
    calls = []

    def refuses(conn):
        calls.append(1)
        raise DuplicateOrder("order A-1 at store S01 was reported already")

    with pytest.raises(DuplicateOrder):
        run_in_transaction(engine, refuses, retry_if=lambda exc: isinstance(exc, NotFound))
    assert len(calls) == 1
    with pytest.raises(DuplicateOrder):
        run_in_transaction(engine, refuses, retry_if=lambda exc: isinstance(exc, DuplicateOrder))
    assert len(calls) == 3


def test_the_api_offers_exactly_the_payment_methods_the_till_service_knows():
    assert set(get_args(PaidWith)) == set(till.PAYMENT_METHODS)
