"""Members: enrolment, cards and manual tier overrides (operators), and what HQ knows of a member."""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations, and
# `Depends(operator)` names a local of member_router that only an evaluated annotation can see.

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy.engine import Connection

from hq.api import queries
from hq.api.auth import Caller, Guard
from hq.api.context import Context
from hq.api.errors import InvalidInput, MemberExists, error_responses
from hq.api.models import (
    CardAdded,
    CardRequest,
    HistoryPage,
    MemberCreated,
    MemberView,
    NewMemberRequest,
    PinRequest,
    PinResult,
    PinUnlockRequest,
    TierOverrideRequest,
    TierOverrideResult,
)
from hq.api.transactions import run_in_transaction
from hq.service import members, pins
from kiosk.cards.record import MEMBER_ID_MAX

MemberIdPath = Annotated[
    str, Path(min_length=1, max_length=MEMBER_ID_MAX, pattern=r"^[A-Za-z0-9_-]+$", description="The member's id")
]


def member_router(ctx: Context, *, operator: Guard, reader: Guard) -> APIRouter:
    router = APIRouter(prefix="/v1/members", tags=["members"])
    AsOperator = Annotated[Caller, Depends(operator)]

    @router.post(
        "",
        summary="Enrol a member at the programme's bottom tier",
        status_code=status.HTTP_201_CREATED,
        response_model=MemberCreated,
        responses=error_responses(401, 403, 409, 413, 503, unprocessable="a birthday in the future (`invalid_input`)"),
    )
    def post_member(body: NewMemberRequest, caller: AsOperator) -> MemberCreated:
        # Store staff enrol into their own store (the home store defaults to it).
        home_store = body.home_store or (caller.store_id if caller.role == "store" else None)
        caller.check_store(home_store)
        now = ctx.now()
        if body.birthday is not None and body.birthday > now.date():
            raise InvalidInput(f"birthday {body.birthday.isoformat()} is in the future")
        new = members.NewMember(
            body.member_id, body.name, body.birthday.isoformat() if body.birthday else None, home_store
        )
        if not run_in_transaction(ctx.engine, lambda conn: members.enrol(conn, new, now)):
            raise MemberExists(f"member {body.member_id} exists already")
        return MemberCreated(member_id=body.member_id)

    @router.post(
        "/{member_id}/cards",
        summary="Register a card for a member (again: no change)",
        response_model=CardAdded,
        responses=error_responses(
            401, 403, 404, 413, 503, unprocessable="a card that belongs to another member (`card_taken`)"
        ),
    )
    def post_card(member_id: MemberIdPath, body: CardRequest, caller: AsOperator) -> CardAdded:
        now = ctx.now()

        def apply(conn: Connection) -> None:
            caller.check_member(conn, member_id)
            members.add_card(conn, member_id, body.uid, body.issue_no, now)

        run_in_transaction(ctx.engine, apply)
        return CardAdded(member_id=member_id, uid=body.uid.lower())

    @router.put(
        "/{member_id}/tier-override",
        summary="Set or clear a manual tier (audited: who and why)",
        response_model=TierOverrideResult,
        responses=error_responses(
            401, 403, 404, 413, 503, unprocessable="a tier the current programme does not have (`unknown_tier`)"
        ),
    )
    def put_tier_override(member_id: MemberIdPath, body: TierOverrideRequest, caller: AsOperator) -> TierOverrideResult:
        now = ctx.now()

        def apply(conn: Connection) -> str:
            caller.check_member(conn, member_id)
            return members.override_tier(
                conn, member_id, body.tier, by=caller.actor(body.by), reason=body.reason, now=now
            )

        tier = run_in_transaction(ctx.engine, apply)
        return TierOverrideResult(member_id=member_id, tier=tier)

    @router.put(
        "/{member_id}/pin",
        summary="Set a member's PIN at the service desk (HQ keeps only its hash; a lock is lifted)",
        response_model=PinResult,
        responses=error_responses(401, 403, 404, 413, 503, unprocessable="a PIN that is not 4 to 6 digits"),
    )
    def put_pin(member_id: MemberIdPath, body: PinRequest, caller: AsOperator) -> PinResult:
        now = ctx.now()

        def apply(conn: Connection) -> None:
            caller.check_member(conn, member_id)
            # The hash is ~50 ms of scrypt; it runs inside the transaction, which holds the member's row.
            pins.set_pin(conn, member_id, body.pin, by=caller.actor(body.by), now=now)

        run_in_transaction(ctx.engine, apply)
        return PinResult(member_id=member_id, pin_set=True, pin_locked=False)

    @router.post(
        "/{member_id}/pin/unlock",
        summary="Unlock a member's redemptions after too many wrong PINs (every kiosk hears it)",
        response_model=PinResult,
        responses=error_responses(401, 403, 404, 413, 503),
    )
    def post_pin_unlock(member_id: MemberIdPath, body: PinUnlockRequest, caller: AsOperator) -> PinResult:
        now = ctx.now()

        def apply(conn: Connection) -> None:
            caller.check_member(conn, member_id)
            pins.unlock(conn, member_id, by=caller.actor(body.by), now=now)

        run_in_transaction(ctx.engine, apply)
        with ctx.engine.connect() as conn:
            has_pin = bool(pins.pin_state(conn, member_id)[0])
        return PinResult(member_id=member_id, pin_set=has_pin, pin_locked=False)

    @router.get(
        "/{member_id}",
        summary="A member as kiosks see it, with the tier in force and any overdraft",
        response_model=MemberView,
        dependencies=[Depends(reader)],
        responses=error_responses(401, 404, 503),
    )
    def get_member(member_id: MemberIdPath) -> MemberView:
        with ctx.engine.connect() as conn:
            return MemberView.model_validate(queries.member_view(conn, member_id))

    @router.get(
        "/{member_id}/history",
        summary="A member's entries (points, stored value, spend, tier changes), newest first",
        response_model=HistoryPage,
        dependencies=[Depends(reader)],
        responses=error_responses(401, 404, 503),
    )
    def get_history(
        member_id: MemberIdPath,
        limit: Annotated[int, Query(ge=1, le=500, description="Entries per page")] = 50,
        before: Annotated[
            int | None, Query(ge=1, lt=2**63, description="Only entries older than this entry_id (paging)")
        ] = None,
    ) -> HistoryPage:
        with ctx.engine.connect() as conn:
            page, next_before = queries.history(conn, member_id, limit=limit, before=before)
        return HistoryPage.model_validate({"member_id": member_id, "entries": page, "next_before": next_before})

    return router
