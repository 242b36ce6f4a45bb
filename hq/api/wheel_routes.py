"""`GET /v1/wheel/audit`: the prize wheel's audit for operators (hq.service.wheel, the same as
`kiosk-hq wheel audit --json`): each spin's prize recomputed from its draw, each rules version's
outcomes against the weights by chi-square, each kiosk's prizes against its stock."""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations.
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from hq.api.auth import Guard
from hq.api.context import Context
from hq.api.errors import error_responses
from hq.service.wheel import ALPHA, audit


class WheelMismatch(BaseModel):
    event_id: str
    device_id: str
    rules_version: int
    at: str
    prize_id: str = Field(description="The prize the kiosk recorded")
    drawn: str = Field(description="The prize `pick(draw, weights)` gives")
    reason: str


class WheelPrizeCount(BaseModel):
    prize_id: str
    observed: int
    expected: float = Field(description="Sum over the spins of weight / total of that spin's weights")


class WheelVersionFit(BaseModel):
    rules_version: int
    spins: int
    duplicate_free: int = Field(description="Free spins beyond the day's allowance (kiosks offline at once)")
    prizes: list[WheelPrizeCount]
    chi_square: float | None = Field(description="Pearson's statistic; null when fewer than two prizes can occur")
    dof: int | None
    p_value: float | None
    fair: bool = Field(description="p_value at least alpha (or no test possible)")


class WheelStockExcess(BaseModel):
    device_id: str
    rules_version: int
    prize_id: str
    given: int
    stock: int


class WheelAuditView(BaseModel):
    ok: bool = Field(description="No mismatch, every version fair, no prize beyond a kiosk's stock")
    since: str | None
    alpha: float
    spins: int
    mismatch_count: int
    mismatches: list[WheelMismatch] = Field(description="The first 1,000 at most")
    versions: list[WheelVersionFit]
    stock_excess: list[WheelStockExcess]


def wheel_router(ctx: Context, *, operator: Guard) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(operator)])

    @router.get(
        "/wheel/audit",
        summary="The prize wheel's audit: every draw recomputed, outcomes against the weights, stock per kiosk",
        tags=["wheel"],
        response_model=WheelAuditView,
        responses=error_responses(401, 503, unprocessable="a `since` without a UTC offset or an `alpha` out of (0, 1)"),
    )
    def get_wheel_audit(
        since: Annotated[AwareDatetime | None, Query(description="Only spins made at or after this time")] = None,
        alpha: Annotated[float, Query(gt=0, lt=1, description="p-value below which a version fails")] = ALPHA,
    ) -> WheelAuditView:
        with ctx.engine.connect() as conn:
            report = audit(conn, since=since, alpha=alpha)
        return WheelAuditView.model_validate(report.to_json())

    return router
