"""The programme (versioned, published to the fleet), the deny-list and the alarms an operator looks after."""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations, and
# `Depends(operator)` names a local of operator_router that only an evaluated annotation can see.
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Query, status

from hq.api import queries
from hq.api.auth import Caller, Guard
from hq.api.context import Context
from hq.api.errors import error_responses
from hq.api.models import (
    AlarmList,
    BlockRequest,
    CardUid,
    DenylistEntry,
    DenylistView,
    ErrorBody,
    ProgramCreated,
    ProgramView,
    ReleaseRequest,
)
from hq.api.transactions import run_in_transaction
from hq.domain.examples import supermarket_program
from hq.service import denylist, programs
from hq.store import tables

ProgramDocument = Annotated[
    dict[str, Any],
    Body(
        description="A programme document (hq.domain.program): `kiosk` rules, `earning`, `reevaluation`, "
        "`topup`. Multipliers are decimal strings; unknown keys are errors.",
        openapi_examples={"supermarket": {"summary": "Spend ladder, stored value", "value": supermarket_program()}},
    ),
]


def operator_router(ctx: Context, *, operator: Guard) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(operator)])

    @router.post(
        "/programs",
        summary="Add the next programme version and publish its kiosk rules to the fleet",
        tags=["programmes"],
        status_code=status.HTTP_201_CREATED,
        response_model=ProgramCreated,
        responses=error_responses(
            401,
            403,
            413,
            503,
            unprocessable="an invalid document (`invalid_program`; the message names the field's path)",
        ),
    )
    def post_program(document: ProgramDocument, caller: Annotated[Caller, Depends(operator)]) -> ProgramCreated:
        caller.check_admin("a programme version")
        by = caller.actor()
        now = ctx.now()
        program = run_in_transaction(
            ctx.engine,
            lambda conn: programs.add_program(conn, document, key=ctx.signing_key, topics=ctx.topics, now=now, by=by),
        )
        return ProgramCreated(version=program.version)

    @router.get(
        "/programs/current",
        summary="The programme in force",
        tags=["programmes"],
        response_model=ProgramView,
        responses=error_responses(401, 503) | {404: {"model": ErrorBody, "description": "No programme yet"}},
    )
    def get_current_program() -> ProgramView:
        with ctx.engine.connect() as conn:
            return ProgramView.model_validate(queries.current_program_row(conn))

    @router.get(
        "/alarms",
        summary="Alarms raised by reconciliation and the fleet (overdrafts, card rollbacks, ...)",
        tags=["alarms"],
        response_model=AlarmList,
        responses=error_responses(401, 503),
    )
    def get_alarms(
        open_only: Annotated[bool, Query(alias="open", description="true: only alarms not cleared yet")] = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AlarmList:
        with ctx.engine.connect() as conn:
            return AlarmList.model_validate({"alarms": queries.alarms(conn, open_only=open_only, limit=limit)})

    @router.get(
        "/denylist",
        summary="Blocked and released cards, with who released them and why",
        tags=["deny-list"],
        response_model=DenylistView,
        responses=error_responses(401, 503),
    )
    def get_denylist() -> DenylistView:
        with ctx.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.denylist).order_by(tables.denylist.c.blocked_at.desc())).mappings()
            return DenylistView(entries=[DenylistEntry.model_validate(dict(row)) for row in rows])

    @router.post(
        "/denylist",
        summary="Block a card fleet-wide (e.g. reported lost): kiosks refuse it within seconds",
        tags=["deny-list"],
        status_code=status.HTTP_201_CREATED,
        response_model=DenylistView,
        responses=error_responses(401, 403, 413, 503),
    )
    def post_block(body: BlockRequest, caller: Annotated[Caller, Depends(operator)]) -> DenylistView:
        caller.check_write()
        by = caller.actor()
        now = ctx.now()

        def apply(conn: sa.Connection) -> None:
            caller.check_card(conn, body.uid)
            denylist.block(conn, body.uid, body.reason, source="operator", ref=f"{by}: {body.note}", now=now)

        run_in_transaction(ctx.engine, apply)
        return get_denylist()

    @router.post(
        "/denylist/{uid}/release",
        summary="Release a blocked card after review (who and why are kept)",
        tags=["deny-list"],
        response_model=DenylistView,
        responses=error_responses(401, 403, 404, 413, 503),
    )
    def post_release(uid: CardUid, body: ReleaseRequest, caller: Annotated[Caller, Depends(operator)]) -> DenylistView:
        caller.check_write()
        now = ctx.now()

        def apply(conn: sa.Connection) -> None:
            caller.check_card(conn, uid)
            denylist.release(conn, uid, by=caller.actor(body.by), note=body.note, now=now)

        run_in_transaction(ctx.engine, apply)
        return get_denylist()

    return router
