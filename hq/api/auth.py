"""Bearer tokens: named operators, the bootstrap operator token, and one per till.

* A named operator's token (`kiosk-hq operator add NAME --role viewer|store|admin [--store S]`,
  HQ keeps its SHA-256) admits operator routes as that operator: a `viewer` reads only (a write is
  403), `store` staff act only on their store (hq.service.operators), an `admin` on everything.
  Till routes admit them too, acting as any till (store staff: their store's tills only).
* The bootstrap token (`KIOSK_HQ_OPERATOR_TOKEN`) is an admin named "operator": a fresh HQ is
  reachable before any account exists, and routes that take a `by` in the body keep it for the
  audit (a named operator is recorded under its own name, whatever the body says).
* A till token (`kiosk-hq till add`, HQ keeps its SHA-256) admits till routes as that till: its
  till and store ids come from the token, and routes refuse a body naming another till or store.
* With no bootstrap token configured (the demo) every route is open to callers without a token, as
  an admin; create_app logs a warning. Till and operator tokens still identify their holders then.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection, Engine

from hq.api.errors import Forbidden, Unauthorized
from hq.service import operators
from hq.service.operators import BOOTSTRAP_NAME
from hq.service.vouchers import new_till_token, token_digest
from hq.store import tables as t

__all__ = ["Caller", "Guard", "new_till_token", "operator_guard", "till_guard", "token_digest"]

_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`: an operator's token (named, or the bootstrap one), or a till's.",
)


@dataclass(frozen=True)
class Caller:
    role: str  # admin | store | viewer (operators) | till
    till_id: str | None = None
    store_id: str | None = None
    name: str = BOOTSTRAP_NAME  # the operator's name (the bootstrap token's is "operator")
    named: bool = False  # a named account, not the bootstrap token

    @property
    def is_till(self) -> bool:
        return self.role == "till"

    def actor(self, claimed: str | None = None) -> str:
        """Who the audit trail records: a named operator's own name; for the bootstrap token the
        name the body gives (`by`), if any."""
        if self.named or self.is_till:
            return self.name
        return claimed or self.name

    def check_write(self) -> None:
        if self.role == "viewer":
            raise Forbidden(f"operator {self.name} is a viewer: reading only")

    def check_admin(self, what: str) -> None:
        if self.role != "admin":
            raise Forbidden(f"{what} is for admins; {self.name} is {self.role}")

    def check_store(self, store_id: str | None) -> None:
        """Store staff act only for their own store (None: the request names none)."""
        self.check_write()
        if self.role == "store" and store_id != self.store_id:
            raise Forbidden(f"operator {self.name} acts for store {self.store_id}, not {store_id}")

    def check_member(self, conn: Connection, member_id: str) -> None:
        """Store staff act only on members who belong to their store."""
        self.check_write()
        if self.role == "store":
            assert self.store_id is not None
            operators.check_member_in_store(conn, member_id, self.store_id)

    def check_card(self, conn: Connection, uid: str) -> None:
        """Store staff act only on cards of members who belong to their store."""
        self.check_write()
        if self.role == "store":
            assert self.store_id is not None
            operators.check_card_in_store(conn, uid, self.store_id)

    def check_till(self, till_id: str, store_id: str | None = None) -> None:
        """A till may speak only for itself and its store; store staff for their store's tills; an
        admin for any till."""
        if not self.is_till:
            self.check_write()
            if self.role == "store" and store_id is not None:
                self.check_store(store_id)
            return
        if till_id != self.till_id:
            raise Forbidden(f"this token belongs to till {self.till_id}, not {till_id}")
        if store_id is not None and store_id != self.store_id:
            raise Forbidden(f"till {self.till_id} belongs to store {self.store_id}, not {store_id}")


Guard = Callable[[HTTPAuthorizationCredentials | None], Caller]

_ADMIN = Caller("admin")


def _is_bootstrap(credentials: HTTPAuthorizationCredentials, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(credentials.credentials.encode(), expected)


def _named(engine: Engine, credentials: HTTPAuthorizationCredentials) -> Caller | None:
    with engine.connect() as conn:
        found = operators.operator_by_token(conn, token_digest(credentials.credentials))
    return None if found is None else Caller(found.role, None, found.store_id, found.name, named=True)


def operator_guard(engine: Engine, expected: str | None) -> Guard:
    """Admits a named operator's token, or the bootstrap token (anyone as an admin when `expected` is None)."""
    wanted = None if expected is None else expected.encode()

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]) -> Caller:
        if credentials is None:
            if wanted is None:
                return _ADMIN
            raise Unauthorized("operator routes need `Authorization: Bearer <token>`")
        if _is_bootstrap(credentials, wanted):
            return _ADMIN
        caller = _named(engine, credentials)
        if caller is None:
            raise Unauthorized("unknown or disabled operator token")
        return caller

    return guard


def till_guard(engine: Engine, operator_token: str | None) -> Guard:
    """Admits a till's token (as that till) or an operator's (as that operator, acting as any till)."""
    wanted = None if operator_token is None else operator_token.encode()

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]) -> Caller:
        if credentials is None:
            if wanted is None:
                return _ADMIN
            raise Unauthorized("till routes need `Authorization: Bearer <token>` (the till's own token)")
        if _is_bootstrap(credentials, wanted):
            return _ADMIN
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(t.tills.c.till_id, t.tills.c.store_id).where(
                    t.tills.c.token_sha256 == token_digest(credentials.credentials), t.tills.c.disabled_at.is_(None)
                )
            ).first()
        if row is not None:
            return Caller("till", row.till_id, row.store_id, row.till_id)
        caller = _named(engine, credentials)
        if caller is None:
            raise Unauthorized("unknown or disabled till token")
        return caller

    return guard
