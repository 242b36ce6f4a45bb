"""The till's voucher write-off API (核销) and the operator's voucher and key-directory routes.

Handlers call hq.service.vouchers / voucher_keys inside one transaction each. The caller's till and
store come from its token (hq.api.auth); an operator may act as any till, for any store.
"""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations, and the
# `Depends(guard)` aliases name locals of the router factory that only an evaluated annotation can see.

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Response, status
from fastapi.responses import JSONResponse

from hq.api.auth import Caller, Guard, new_till_token, token_digest
from hq.api.context import Context
from hq.api.errors import error_json, error_responses
from hq.api.rate_limit import SlidingWindow
from hq.api.transactions import run_in_transaction
from hq.api.voucher_models import (
    AlreadyUsedBody,
    CancelRequest,
    ConsumedBody,
    ConsumeRequest,
    KeyDirectoryChanged,
    LookupRequest,
    NewTillRequest,
    ReverseRequest,
    RevokeKeyRequest,
    SignedDocument,
    TillCreated,
    VoucherDetail,
    VoucherHistoryItem,
    VoucherKeyRequest,
    VoucherStatusBody,
)
from hq.service import voucher_keys, vouchers
from hq.service.errors import NotFound
from hq.store import tables as t

VoucherId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+-[0-9]+$")]
DeviceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _till(caller: Caller, till_id: str | None = None) -> vouchers.Till:
    """The till the caller acts as: its own; for an operator the one it names (else its own name,
    for the voucher's history), bound to its store for store staff."""
    if caller.is_till:
        assert caller.till_id is not None
        return vouchers.Till(caller.till_id, caller.store_id)
    return vouchers.Till(till_id or caller.name, caller.store_id if caller.role == "store" else None)


def voucher_router(
    ctx: Context,
    *,
    till_guard: Guard,
    operator_guard: Guard,
    policy: vouchers.VoucherPolicy,
    short_code_lookups_per_minute: int,
    monotonic: Callable[[], float] = time.monotonic,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["vouchers"])
    AsTill = Annotated[Caller, Depends(till_guard)]
    AsOperator = Annotated[Caller, Depends(operator_guard)]
    short_lookups = SlidingWindow(short_code_lookups_per_minute, 60.0, monotonic)
    used_409: dict[int | str, dict[str, Any]] = {
        409: {
            "model": AlreadyUsedBody,
            "description": "`already_used` (with where and when), `cancelled`, `idempotency_conflict`, "
            "`not_used`, `reverse_window_passed`, `other_till`, `not_reconciled`",
        }
    }

    @router.get(
        "/voucher-keys",
        summary="The signed key directory: every kiosk's voucher public key, its store and standing",
        response_model=SignedDocument,
        responses=error_responses(401, 503),
    )
    def get_voucher_keys(_caller: AsTill) -> SignedDocument:
        now = ctx.now()
        signed = run_in_transaction(
            ctx.engine, lambda conn: voucher_keys.fresh_signed_directory(conn, ctx.signing_key, ctx.topics, now)
        )
        return SignedDocument.model_validate(signed)

    @router.post(
        "/vouchers/lookup",
        summary="What a cashier sees before writing off: valid, used (where, when), expired, unknown ...",
        response_model=VoucherStatusBody,
        responses={**error_responses(401, 413, 503), 429: {"description": "Too many short-code lookups"}},
    )
    def post_lookup(body: LookupRequest, caller: AsTill) -> VoucherStatusBody | JSONResponse:
        if body.short_code is not None:
            wait = short_lookups.allow(caller.till_id or "operator")
            if wait is not None:
                return error_json(
                    429, "rate_limited",
                    f"more than {short_code_lookups_per_minute} short-code lookups a minute; scan the QR code",
                    {"Retry-After": str(math.ceil(wait))},
                )  # fmt: skip
        now = ctx.now()
        with ctx.engine.connect() as conn:
            found = vouchers.lookup(conn, _till(caller), policy, now, code=body.code, short=body.short_code)
        return VoucherStatusBody.model_validate(asdict(found))

    @router.post(
        "/vouchers/consume",
        summary="Write a voucher off, once (idempotent by request id)",
        status_code=status.HTTP_201_CREATED,
        response_model=ConsumedBody,
        responses={
            200: {"model": ConsumedBody, "description": "A retry: the first answer, with `replayed` true"},
            **error_responses(
                401, 403, 404, 413, 503,
                unprocessable="`expired`, `invalid` (bad signature, unknown or revoked key, edited code), "
                "`over_unregistered_cap`, `offline_too_old`",
            ),
            **used_409,
        },
    )  # fmt: skip
    def post_consume(body: ConsumeRequest, response: Response, caller: AsTill) -> ConsumedBody | JSONResponse:
        caller.check_till(body.till_id)
        request = vouchers.ConsumeRequest(body.request_id, body.order_no, body.code, body.short_code, body.offline_at)
        till = _till(caller, body.till_id)
        now = ctx.now()
        try:
            done = run_in_transaction(ctx.engine, lambda conn: vouchers.consume(conn, till, policy, request, now))
        except vouchers.AlreadyUsed as exc:
            refused = exc
            if request.offline_at is not None:
                # The double use was detected: keep the alarm even though the answer is a refusal.
                run_in_transaction(
                    ctx.engine, lambda conn: vouchers.record_offline_double_use(conn, till, request, refused, now)
                )
            return JSONResponse({"error": exc.code, "message": exc.message, "used": exc.used}, status_code=409)
        response.status_code = status.HTTP_200_OK if done.replayed else status.HTTP_201_CREATED
        return ConsumedBody.model_validate(asdict(done))

    @router.post(
        "/vouchers/{voucher_id}/reverse",
        summary="Reverse a write-off within the window (the sale was voided): the voucher is usable again",
        response_model=VoucherStatusBody,
        responses={**error_responses(401, 403, 404, 413, 503), **used_409},
    )
    def post_reverse(voucher_id: VoucherId, body: ReverseRequest, caller: AsTill) -> VoucherStatusBody:
        caller.check_till(body.till_id)
        till = _till(caller, body.till_id)
        now = ctx.now()
        done = run_in_transaction(
            ctx.engine,
            lambda conn: vouchers.reverse(conn, till, policy, voucher_id, body.request_id, body.reason, now),
        )
        return VoucherStatusBody.model_validate(asdict(done))

    @router.post(
        "/vouchers/{voucher_id}/cancel",
        summary="Cancel an unused voucher: its points go back to the member",
        response_model=VoucherStatusBody,
        responses={**error_responses(401, 403, 404, 413, 503), **used_409},
    )
    def post_cancel(voucher_id: VoucherId, body: CancelRequest, caller: AsTill) -> VoucherStatusBody:
        caller.check_write()
        till = _till(caller)
        now = ctx.now()
        done = run_in_transaction(
            ctx.engine,
            lambda conn: vouchers.cancel(conn, till, policy, voucher_id, body.request_id, body.reason, now),
        )
        return VoucherStatusBody.model_validate(asdict(done))

    @router.get(
        "/vouchers/{voucher_id}",
        summary="A voucher with its member and full history (operators)",
        response_model=VoucherDetail,
        responses=error_responses(401, 404, 503),
    )
    def get_voucher(voucher_id: VoucherId, _caller: AsOperator) -> VoucherDetail:
        now = ctx.now()
        with ctx.engine.connect() as conn:
            row = conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher_id)).first()
            if row is None:
                raise NotFound(f"no voucher {voucher_id}")
            found = vouchers.status_of(row, now, vouchers.Till("operator", None), policy)
            h = t.voucher_history.c
            history = [
                VoucherHistoryItem(
                    action=r.action,
                    at=r.at.isoformat(),
                    actor=r.actor,
                    store_id=r.store_id,
                    order_no=r.order_no,
                    detail=r.detail,
                )  # fmt: skip
                for r in conn.execute(
                    sa.select(t.voucher_history).where(h.voucher_id == voucher_id).order_by(h.history_id)
                )
            ]
        return VoucherDetail(
            status=VoucherStatusBody.model_validate(asdict(found)), member_id=row.member_id, history=history
        )

    @router.post(
        "/tills",
        summary="Give a till its own token (shown once)",
        tags=["operators"],
        status_code=status.HTTP_201_CREATED,
        response_model=TillCreated,
        responses=error_responses(401, 403, 413, 503),
    )
    def post_till(body: NewTillRequest, caller: AsOperator) -> TillCreated:
        caller.check_store(body.store_id)
        token = new_till_token()
        now = ctx.now()
        run_in_transaction(
            ctx.engine, lambda conn: vouchers.add_till(conn, body.till_id, body.store_id, token_digest(token), now)
        )
        return TillCreated(till_id=body.till_id, store_id=body.store_id, token=token)

    @router.post(
        "/devices/{device_id}/voucher-keys",
        summary="Register a kiosk's voucher public key for its store; re-signs and pushes the directory",
        tags=["operators"],
        response_model=KeyDirectoryChanged,
        responses=error_responses(401, 403, 409, 413, 503, unprocessable="a key that is not 32 bytes of base64"),
    )
    def post_voucher_key(device_id: DeviceId, body: VoucherKeyRequest, caller: AsOperator) -> KeyDirectoryChanged:
        caller.check_store(body.store_id)
        now = ctx.now()

        def apply(conn: sa.Connection) -> KeyDirectoryChanged:
            try:
                voucher_keys.add_key(
                    conn, device_id, body.store_id, body.public_key, valid_from=body.valid_from or now, now=now
                )
            except ValueError as exc:
                raise vouchers.Refused("invalid_key", str(exc)) from None
            version = voucher_keys.queue_directory(conn, ctx.signing_key, ctx.topics, now)
            return KeyDirectoryChanged(version=version, keys=len(voucher_keys.directory(conn)))

        return run_in_transaction(ctx.engine, apply)

    @router.post(
        "/devices/{device_id}/voucher-keys/revoke",
        summary="Revoke a kiosk's voucher keys (stolen kiosk): every voucher they signed is refused",
        tags=["operators"],
        response_model=KeyDirectoryChanged,
        responses=error_responses(401, 403, 404, 413, 503),
    )
    def post_revoke(device_id: DeviceId, body: RevokeKeyRequest, caller: AsOperator) -> KeyDirectoryChanged:
        caller.check_admin("revoking a kiosk's voucher keys")
        now = ctx.now()

        def apply(conn: sa.Connection) -> KeyDirectoryChanged:
            voucher_keys.revoke(conn, device_id, body.reason, public_key_b64=body.public_key, now=now)
            version = voucher_keys.queue_directory(conn, ctx.signing_key, ctx.topics, now)
            return KeyDirectoryChanged(version=version, keys=len(voucher_keys.directory(conn)))

        return run_in_transaction(ctx.engine, apply)

    return router
