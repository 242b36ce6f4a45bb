"""How refusals become HTTP answers: `{"error": code, "message": text}` with the status the error
names (hq.service.errors), and the same shape for the API's own refusals (401, 409, 413, 503).

Request-schema mismatches keep FastAPI's own 422 `{"detail": [...]}`, which names each field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hq.api.models import ErrorBody, ValidationErrorBody
from hq.domain.errors import HqDomainError, InvalidAmount, InvalidProgram, NaiveTime, UnknownTier
from hq.service.errors import HqServiceError

_LOG = logging.getLogger(__name__)

_DOMAIN_CODES: dict[type[HqDomainError], str] = {
    InvalidProgram: "invalid_program",
    InvalidAmount: "invalid_amount",
    NaiveTime: "naive_time",
    UnknownTier: "unknown_tier",
}


class Unauthorized(HqServiceError):
    code = "unauthorized"
    status = 401


class Forbidden(HqServiceError):
    code = "forbidden"
    status = 403


class MemberExists(HqServiceError):
    code = "member_exists"
    status = 409


class InvalidInput(HqServiceError):
    """Input that passed the schema but not a check needing the request's context (e.g. today)."""

    code = "invalid_input"
    status = 422


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def service_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HqServiceError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_json(exc.status, exc.code, exc.message, headers)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        # Routing and parsing refusals (unknown path, wrong method, unreadable body) in our shape too.
        assert isinstance(exc, HTTPException)
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        return error_json(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        code = next((c for kind, c in _DOMAIN_CODES.items() if isinstance(exc, kind)), "invalid")
        return error_json(422, code, str(exc))

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Unreachable database, pool exhausted, lock timeout, or a serialization failure that
        # survived its retry: the request did not happen; an idempotent retry is safe.
        _LOG.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
        return error_json(
            503, "database_unavailable", "HQ's database is unavailable; retry later", {"Retry-After": "1"}
        )

    async def internal_error(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this handler answers.
        return error_json(500, "internal", "HQ failed on this request; the operator can find why in HQ's log")

    app.add_exception_handler(HqServiceError, service_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(HqDomainError, domain_error)
    for kind in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.add_exception_handler(kind, database_unavailable)
    app.add_exception_handler(Exception, internal_error)


_DESCRIPTIONS = {
    401: "Missing or wrong bearer token (`error`: unauthorized)",
    403: "The token does not allow this: a viewer's write, store staff acting beyond their store, a till "
    "speaking for another till or store (`error`: forbidden, other_store)",
    404: "The member or purchase does not exist (`error`: not_found)",
    409: "Conflict: `idempotency_conflict` (the key was used for another request), `duplicate_order`, "
    "or `member_exists`",
    413: "The request body is larger than 1 MiB (`error`: body_too_large)",
    503: "HQ cannot answer now: `no_program` (no programme set up yet) or `database_unavailable`; "
    "retrying the same request is safe",
}


def error_responses(*statuses: int, unprocessable: str | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the refusals a route can give; `unprocessable` describes its 422s."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }
    if unprocessable is not None:
        responses[422] = {
            "model": ErrorBody | ValidationErrorBody,
            "description": "The request does not match the schema (FastAPI's `detail` names the field), "
            f"or {unprocessable}",
        }
    return responses
