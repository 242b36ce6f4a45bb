"""Bearer tokens: one for operators, one per till.

* The operator token (`KIOSK_HQ_OPERATOR_TOKEN`) admits operator routes, and till routes acting as
  any till (a back office re-sending a till's report).
* A till token (`kiosk-hq till add`, HQ keeps its SHA-256) admits till routes as that till: its
  till and store ids come from the token, and routes refuse a body naming another till or store.
* With no operator token configured (the demo) every route is open to callers without a token, as
  an operator; create_app logs a warning. Till tokens still identify tills then.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from hq.api.errors import Forbidden, Unauthorized
from hq.service.vouchers import new_till_token, token_digest
from hq.store import tables as t

__all__ = ["Caller", "Guard", "new_till_token", "operator_guard", "till_guard", "token_digest"]

_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`: the operator token, or a till's own token.",
)


@dataclass(frozen=True)
class Caller:
    role: str  # operator | till
    till_id: str | None = None
    store_id: str | None = None

    def check_till(self, till_id: str, store_id: str | None = None) -> None:
        """A till may speak only for itself and its store; an operator for any till."""
        if self.role != "till":
            return
        if till_id != self.till_id:
            raise Forbidden(f"this token belongs to till {self.till_id}, not {till_id}")
        if store_id is not None and store_id != self.store_id:
            raise Forbidden(f"till {self.till_id} belongs to store {self.store_id}, not {store_id}")


Guard = Callable[[HTTPAuthorizationCredentials | None], Caller]


def _is_operator(credentials: HTTPAuthorizationCredentials, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(credentials.credentials.encode(), expected)


def operator_guard(expected: str | None) -> Guard:
    """Admits the operator token (anyone when `expected` is None)."""
    wanted = None if expected is None else expected.encode()

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]) -> Caller:
        if wanted is None:
            return Caller("operator")
        if credentials is None:
            raise Unauthorized("operator routes need `Authorization: Bearer <token>`")
        if not _is_operator(credentials, wanted):
            raise Unauthorized("wrong bearer token")
        return Caller("operator")

    return guard


def till_guard(engine: Engine, operator_token: str | None) -> Guard:
    """Admits a till's token (as that till) or the operator token (as an operator)."""
    wanted = None if operator_token is None else operator_token.encode()

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]) -> Caller:
        if credentials is None:
            if wanted is None:
                return Caller("operator")
            raise Unauthorized("till routes need `Authorization: Bearer <token>` (the till's own token)")
        if _is_operator(credentials, wanted):
            return Caller("operator")
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(t.tills.c.till_id, t.tills.c.store_id).where(
                    t.tills.c.token_sha256 == token_digest(credentials.credentials), t.tills.c.disabled_at.is_(None)
                )
            ).first()
        if row is None:
            raise Unauthorized("unknown or disabled till token")
        return Caller("till", row.till_id, row.store_id)

    return guard
