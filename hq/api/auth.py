"""Bearer tokens for tills and operators.

For now there is ONE token (`operator_token`): operator routes and till routes both require it when
it is set, and every route is open when it is None (the demo; create_app logs a warning). The
guards return the caller's role, so splitting tills from operators later changes this module only.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hq.api.errors import Unauthorized

_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`. One token for tills and operators for now.",
)

Guard = Callable[[HTTPAuthorizationCredentials | None], str]


def token_guard(expected: str | None, role: str) -> Guard:
    """A dependency admitting callers that present `expected` (anyone when it is None); returns `role`."""
    wanted = None if expected is None else expected.encode()

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]) -> str:
        if wanted is None:
            return role
        if credentials is None:
            raise Unauthorized(f"{role} routes need `Authorization: Bearer <token>`")
        if not hmac.compare_digest(credentials.credentials.encode(), wanted):
            raise Unauthorized("wrong bearer token")
        return role

    return guard
