"""The HQ HTTP API as a FastAPI application, built by `create_app` from what the composition root
(hq.runtime) or a test hands it: the engine, a clock, the signing key and the topics.

Routes are thin: pydantic validates the request, the handler calls the same use case a CLI or a
test calls (hq.service), inside `run_in_transaction`, and refusals become `{"error", "message"}`
with the status the error names (hq.api.errors). The OpenAPI description is FastAPI's, at
`/openapi.json`, browsable at `/docs`.
"""

from __future__ import annotations

import logging

import sqlalchemy.exc as sa_exc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from hq.api.auth import operator_guard, till_guard
from hq.api.body_limit import MIB, BodyLimit
from hq.api.console_routes import mount_console
from hq.api.context import Context, NowClock
from hq.api.errors import error_json, install_error_handlers
from hq.api.member_routes import member_router
from hq.api.models import ErrorBody, Health
from hq.api.operator_routes import operator_router
from hq.api.till_page import mount_till_page
from hq.api.till_routes import till_router
from hq.api.voucher_routes import voucher_router
from hq.api.wheel_routes import wheel_router
from hq.config import VoucherSettings
from hq.store.migrations import current_version
from sync.topics import HqTopics

_LOG = logging.getLogger(__name__)

DESCRIPTION = """\
HQ's API for tills and operators.

* Money is integer fen; times are RFC 3339 with a UTC offset (naive times are refused); ids are strings.
* Till requests carry an idempotency key: retry with the same key and body after any failure; the
  first answer comes back with `replayed: true`. A key reused for another body is a 409.
* Refusals answer `{"error": code, "message": text}`; request-schema errors FastAPI's 422 `detail`.
* Authentication: `Authorization: Bearer <token>`: a named operator's token (`kiosk-hq operator
  add`: a `viewer` reads only, `store` staff act only on their store, an `admin` on everything),
  the bootstrap operator token (an admin), or a till's own token (`kiosk-hq till add`), which acts
  only as that till, for its store. A write a role may not make is a 403.
* Request bodies are limited to 1 MiB.
"""

TAGS = [
    {"name": "till", "description": "Purchases, refunds and top-ups, reported by tills (idempotent)."},
    {"name": "members", "description": "Enrolment, cards, tier overrides (operators); members as HQ knows them."},
    {"name": "programmes", "description": "The versioned programme: tiers, earning, top-up terms."},
    {
        "name": "vouchers",
        "description": "Voucher write-off (核销) at the till: look up, consume once, reverse, cancel.",
    },
    {"name": "operators", "description": "Till credentials and the kiosks' voucher key directory."},
    {"name": "alarms", "description": "What reconciliation and the fleet raised for an operator."},
    {"name": "wheel", "description": "The prize wheel (幸运大转盘): the fairness and stock audit."},
    {"name": "health", "description": "Liveness and schema version, for load balancers and monitoring."},
]


def create_app(
    engine: Engine,
    *,
    clock: NowClock,
    signing_key: Ed25519PrivateKey,
    topics: HqTopics,
    operator_token: str | None,
    max_body_bytes: int = MIB,
    vouchers: VoucherSettings | None = None,
    api_docs: bool = True,
) -> FastAPI:
    """The API over `engine` (migrated already). `operator_token` None leaves every route open."""
    if operator_token is None:
        _LOG.warning("HQ API without a token: anyone who reaches it can act as a till or an operator")
    elif not operator_token.strip():
        raise ValueError("operator_token must not be blank (None disables authentication)")
    ctx = Context(engine, clock, signing_key, topics)
    vouchers = vouchers or VoucherSettings()
    app = FastAPI(
        title="Membership HQ",
        version="1",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url="/docs" if api_docs else None,
        redoc_url="/redoc" if api_docs else None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    operator = operator_guard(engine, operator_token)
    tills = till_guard(engine, operator_token)
    app.include_router(till_router(ctx, tills))
    app.include_router(member_router(ctx, operator=operator, reader=tills))
    app.include_router(operator_router(ctx, operator=operator))
    app.include_router(
        voucher_router(
            ctx, till_guard=tills, operator_guard=operator, policy=vouchers.policy(),
            short_code_lookups_per_minute=vouchers.short_code_lookups_per_minute,
        )
    )  # fmt: skip
    app.include_router(wheel_router(ctx, operator=operator))
    mount_till_page(app)
    mount_console(app, ctx, operator_token=operator_token, policy=vouchers.policy())

    @app.get(
        "/healthz",
        summary="Is HQ up and its database reachable?",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": ErrorBody, "description": "The database is unreachable"}},
    )
    def healthz() -> Health | JSONResponse:
        try:
            with engine.connect() as conn:
                version = current_version(conn)
        except sa_exc.DBAPIError as exc:
            _LOG.warning("health check: database unreachable: %s", exc)
            return error_json(503, "database_unavailable", "HQ's database is unreachable")
        return Health(ok=True, schema_version=version)

    return app
