"""What tills report: purchases, refunds and top-ups (hq.service.till), each idempotent.

A first answer is 201; a retry with the same idempotency key and body is answered 200 with
`replayed: true` and changes nothing.

Two copies of one request may race (a till retrying while its first attempt still runs, two HQ
processes). The loser of the race may fail on a unique key (retried by run_in_transaction), or,
on PostgreSQL, take the member's lock after the winner committed and see the winner's effects: a
purchase's order as `duplicate_order`, a refund's amount as already refunded. Those refusals are
retried once too: if a twin committed, the retry finds its key and replays its answer; if not,
the retry refuses the same way.
"""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations, and the
# `Depends(guard)` aliases name locals of the router factory that only an evaluated annotation can see.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from hq.api.auth import Caller, Guard
from hq.api.context import Context
from hq.api.errors import error_responses
from hq.api.models import PurchaseRequest, PurchaseResult, RefundRequest, RefundResult, TopupRequest, TopupResult
from hq.api.transactions import run_in_transaction
from hq.service import operators, till

_REFUSED = "a refusal from HQ's rules (`bad_amount`, `first_day_limit`, `insufficient_balance`, ...)"


def _with_replay(model: type[BaseModel], refusals: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "A retry: the first answer, with `replayed` true"}, **refusals}


def _answered(response: Response, replayed: bool) -> None:
    response.status_code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED


def till_router(ctx: Context, guard: Guard) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["till"])
    common = error_responses(401, 403, 404, 409, 413, 503, unprocessable=_REFUSED)
    Authorised = Annotated[Caller, Depends(guard)]

    @router.post(
        "/purchases",
        summary="Report a purchase: earn points, count spend, move the tier up",
        status_code=status.HTTP_201_CREATED,
        response_model=PurchaseResult,
        responses=_with_replay(PurchaseResult, common),
    )
    def post_purchase(body: PurchaseRequest, response: Response, caller: Authorised) -> PurchaseResult:
        caller.check_till(body.till_id, body.store_id)
        request = till.Purchase(
            body.idempotency_key, body.store_id, body.till_id, body.order_no, body.member_id, body.amount_fen,
            body.at, body.paid_with,
        )  # fmt: skip
        now = ctx.now()
        # A twin of this request racing in another HQ process is answered as its replay by the
        # service (it re-checks the key under the member's lock).
        result = run_in_transaction(ctx.engine, lambda conn: till.record_purchase(conn, request, now))
        _answered(response, result.replayed)
        return PurchaseResult(
            purchase_id=result.purchase_id, member_id=result.member_id, points=result.points,
            rules_version=result.rules_version, tier=result.tier, balance_fen=result.balance_fen,
            replayed=result.replayed,
        )  # fmt: skip

    @router.post(
        "/refunds",
        summary="Refund part or all of a purchase: its points back proportionally",
        status_code=status.HTTP_201_CREATED,
        response_model=RefundResult,
        responses=_with_replay(RefundResult, common),
    )
    def post_refund(body: RefundRequest, response: Response, caller: Authorised) -> RefundResult:
        if not caller.is_till:
            with ctx.engine.connect() as conn:
                caller.check_till(caller.name, operators.purchase_store(conn, body.purchase_id))
        request = till.Refund(body.idempotency_key, body.purchase_id, body.amount_fen, body.at)
        now = ctx.now()
        result = run_in_transaction(ctx.engine, lambda conn: till.refund(conn, request, now))
        answer = RefundResult.model_validate(result)
        _answered(response, answer.replayed)
        return answer

    @router.post(
        "/topups",
        summary="Top up a member's stored value, with the programme's bonus",
        status_code=status.HTTP_201_CREATED,
        response_model=TopupResult,
        responses=_with_replay(TopupResult, common),
    )
    def post_topup(body: TopupRequest, response: Response, caller: Authorised) -> TopupResult:
        caller.check_till(body.till_id, body.store_id)
        request = till.Topup(body.idempotency_key, body.store_id, body.till_id, body.member_id, body.paid_fen, body.at)
        now = ctx.now()
        result = run_in_transaction(ctx.engine, lambda conn: till.topup(conn, request, now))
        answer = TopupResult.model_validate(result)
        _answered(response, answer.replayed)
        return answer

    return router
