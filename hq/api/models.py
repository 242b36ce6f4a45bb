"""The API's request and response bodies: every field bounded, so HQ refuses bad input with a 422
naming the field instead of failing deeper down (a 500, or a value the database truncates).

Conventions: money is integer fen and counts are integers, JSON integers only (no "100", 100.0 or
true), positive and below 2**53 so every JavaScript client reads them exactly; times are RFC 3339
with a UTC offset (a naive time is refused: whose 10 o'clock?); ids are short ASCII strings.
Unknown keys in a request are errors, like everywhere else in this project.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from kiosk.cards.record import ISSUE_MAX, MEMBER_ID_MAX

#: Largest amount accepted: integers above this are not exact in a JavaScript (IEEE double) client.
AMOUNT_CEILING = 2**53
#: The purchase id HQ derives, `P-<store_id>-<order_no>`, and its lot's id, `L-<purchase id>`, are
#: stored in 80 characters (hq.store.tables: purchases.purchase_id, lots.lot_id).
ORDER_KEY_MAX = 80 - len("L-P--")
#: The tier override's reason is kept in the entry's `ref`, "override:<reason>", 120 characters.
REASON_MAX = 120 - len("override:")
_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            "must be an RFC 3339 time with a UTC offset, e.g. 2026-12-03T10:00:00+08:00 "
            "(naive times such as 2026-12-03T10:00:00 are refused)"
        )
    return value


def _plausible(value: dt.datetime) -> dt.datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must lie between 2000 and 2099 (is the till's clock set?)")
    return value


def _calendar_date(value: Any) -> Any:
    # FastAPI validates a parsed JSON body in Python mode, where a strict date refuses every
    # string: read the one JSON form (YYYY-MM-DD) here and refuse the lax ones (numbers, ...).
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    date = dt.date.fromisoformat(value)
    if date.year < 1900:
        raise ValueError("must not be before 1900")
    return date


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (tabs, newlines, ...)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_plausible),
    Field(description="RFC 3339 with a UTC offset", examples=["2026-12-03T10:00:00+08:00"]),
]
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="1-64 characters of A-Z a-z 0-9 _ . -"),
]
#: What a card can carry (kiosk.cards.record): 1-16 characters of A-Z a-z 0-9 _ -.
MemberId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MEMBER_ID_MAX, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(description=f"1-{MEMBER_ID_MAX} characters of A-Z a-z 0-9 _ - (what a card record holds)"),
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(
        description="Unique across ALL tills (e.g. `S01-T1-000123` or a UUID); a retry sends the same key "
        "and the same body and gets the first answer back; the same key with another body is a 409",
        examples=["S01-T1-000123"],
    ),
]
Fen = Annotated[int, Strict(), Field(gt=0, lt=AMOUNT_CEILING, description="integer fen (1 yuan = 100 fen)")]
Birthday = Annotated[dt.date, BeforeValidator(_calendar_date), Field(description="YYYY-MM-DD", examples=["1992-05-01"])]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)]
PaidWith = Literal["cash", "card", "mobile", "stored_value"]  # hq.service.till.PAYMENT_METHODS


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- till ------------------------------------------------------------------------------------


class PurchaseRequest(RequestBody):
    idempotency_key: IdempotencyKey
    store_id: Id
    till_id: Id
    order_no: Id = Field(description="The till's order number; reported once per store")
    member_id: MemberId
    amount_fen: Fen
    at: Instant = Field(description="When the till sold, with the store's UTC offset (its day counts)")
    paid_with: PaidWith

    @model_validator(mode="after")
    def _order_key_fits(self) -> PurchaseRequest:
        if len(self.store_id) + len(self.order_no) > ORDER_KEY_MAX:
            raise ValueError(f"store_id and order_no together may have at most {ORDER_KEY_MAX} characters")
        return self


class PurchaseResult(BaseModel):
    purchase_id: str
    member_id: str
    points: int = Field(description="Points earned by this purchase")
    rules_version: int = Field(description="The programme version that decided it")
    tier: str = Field(description="The member's tier in force now")
    balance_fen: int = Field(description="The member's stored value now")
    replayed: bool = Field(description="True when this answers a retry of an earlier request")


class RefundRequest(RequestBody):
    idempotency_key: IdempotencyKey
    purchase_id: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")]
    amount_fen: Fen
    at: Instant


class RefundResult(BaseModel):
    purchase_id: str
    points_reversed: int
    refunded_fen: int
    replayed: bool = False


class TopupRequest(RequestBody):
    idempotency_key: IdempotencyKey
    store_id: Id
    till_id: Id
    member_id: MemberId
    paid_fen: Fen
    at: Instant


class TopupResult(BaseModel):
    member_id: str
    paid_fen: int
    bonus_fen: int
    balance_fen: int
    rules_version: int
    replayed: bool = False


# --- members ---------------------------------------------------------------------------------


class NewMemberRequest(RequestBody):
    member_id: MemberId
    name: Text
    birthday: Birthday | None = None
    home_store: Id | None = None


class MemberCreated(BaseModel):
    member_id: str


class CardRequest(RequestBody):
    uid: Annotated[
        str,
        StringConstraints(pattern=r"^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14})$"),
        Field(description="The card's UID in hex: 4 or 7 bytes (8 or 14 hex digits)", examples=["DE700001"]),
    ]
    issue_no: Annotated[int, Strict(), Field(ge=1, le=ISSUE_MAX, description="1 = first card, 2 = replacement")]


class CardAdded(BaseModel):
    member_id: str
    uid: str


Who = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
_WHO = (
    "Who did it, for the audit trail: kept for the bootstrap token only; a named operator is recorded "
    "under its own name"
)


class TierOverrideRequest(RequestBody):
    tier: Id | None = Field(description="A tier code of the current programme, or null to clear the override")
    by: Who | None = Field(None, description=_WHO)
    reason: Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX), AfterValidator(_printable)]


class TierOverrideResult(BaseModel):
    member_id: str
    tier: str = Field(description="The tier in force after the change")


class PinRequest(RequestBody):
    pin: str = Field(
        pattern=r"^[0-9]{4,6}$",
        description="The member's new PIN, 4 to 6 digits. HQ stores and sends kiosks only its salted scrypt hash",
    )
    by: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)] = Field(
        default="operator", description="Who set it (the service desk clerk), for the audit entry"
    )


class PinUnlockRequest(RequestBody):
    by: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)] = Field(
        default="operator", description="Who unlocked it, for the audit entry"
    )


class PinResult(BaseModel):
    member_id: str
    pin_set: bool = Field(description="The member has a PIN")
    pin_locked: bool = Field(description="The member's redemptions are locked (wrong PINs at a kiosk)")


class CardView(BaseModel):
    uid: str
    issue_no: int
    status: str
    last_counter: int


class LotView(BaseModel):
    lot_id: str
    points: int = Field(description="Points left in the lot")
    earned_at: dt.datetime
    expires_at: dt.datetime


class VoucherView(BaseModel):
    voucher_id: str
    state: str


class MemberView(BaseModel):
    """The member as kiosks are told (hq.service.kiosk_entry), plus the tier in force and overdraft."""

    member_id: str
    name: str
    birthday: str | None
    balance_fen: int
    spend_fen: int = Field(description="Spend over the tier measure's period")
    growth_points: int = Field(description="Growth points over the tier measure's period")
    tier_floor: str
    tier_override: str | None
    tier: str = Field(description="The tier in force: the override if set, else the floor")
    overdraft_points: int = Field(description="Points redeemed offline beyond what HQ held; repaid first")
    cards: list[CardView]
    lots: list[LotView]
    vouchers: list[VoucherView]


class EntryView(BaseModel):
    entry_id: int
    kind: str
    points_delta: int
    balance_delta_fen: int
    spend_delta_fen: int
    growth_delta: int
    overdraft_delta: int
    lot_id: str | None
    ref: str
    rules_version: int
    at: dt.datetime
    detail: dict[str, Any] | None


class HistoryPage(BaseModel):
    member_id: str
    entries: list[EntryView] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page")


# --- programmes, alarms, health --------------------------------------------------------------


class ProgramCreated(BaseModel):
    version: int


class ProgramView(BaseModel):
    version: int
    document: dict[str, Any]
    created_at: dt.datetime
    created_by: str


class AlarmView(BaseModel):
    alarm_id: int
    kind: str
    subject: str
    detail: str
    raised_at: dt.datetime
    cleared_at: dt.datetime | None


class AlarmList(BaseModel):
    alarms: list[AlarmView] = Field(description="Newest first")


class Health(BaseModel):
    ok: bool
    schema_version: int


class ErrorBody(BaseModel):
    """Every refusal except request validation: a stable machine code and a message for people."""

    error: str = Field(description="Stable code, e.g. not_found, idempotency_conflict, first_day_limit")
    message: str


class ValidationErrorBody(BaseModel):
    """FastAPI's answer to a request that does not match its schema (HTTP 422)."""

    detail: list[dict[str, Any]]


CardUid = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14})$"),
    Field(description="The card's UID in hex: 4 or 7 bytes", examples=["DE700001"]),
]


class BlockRequest(RequestBody):
    uid: CardUid
    reason: Annotated[
        str,
        StringConstraints(pattern=r"^[a-z_]{1,32}$"),
        Field(description="Why, as kiosks show it: lost, stolen, rollback, fraud, ...", examples=["lost"]),
    ]
    note: Text


class ReleaseRequest(RequestBody):
    by: Who | None = Field(None, description=_WHO)
    note: Text


class DenylistEntry(BaseModel):
    uid: str
    reason: str
    source: str = Field(description="auto (a rollback HQ confirmed) or operator")
    status: str = Field(description="blocked or released")
    ref: str
    blocked_at: dt.datetime
    released_at: dt.datetime | None
    released_by: str | None
    note: str | None


class DenylistView(BaseModel):
    entries: list[DenylistEntry]
