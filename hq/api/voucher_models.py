"""Bodies of the voucher write-off API (docs/vouchers.md): bounded like every HQ body."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from hq.api.models import Id, Instant, RequestBody, Text

#: Voucher codes are ~160 characters; a QR scanner may add spaces or line breaks.
Code = Annotated[str, StringConstraints(min_length=1, max_length=1024), Field(description="the QR code's text")]
ShortCode = Annotated[
    str,
    StringConstraints(min_length=8, max_length=20, pattern=r"^[0-9A-Za-z\- ]+$"),
    Field(description="the 8-character short code, e.g. K7QM-3XPA (case, dash and spaces ignored)"),
]
RequestId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="The till's idempotency key for this action (unique per till); a retry sends the same"),
]
OrderNo = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-/]+$")]


def _one_of(code: str | None, short: str | None) -> None:
    if (code is None) == (short is None):
        raise ValueError("give exactly one of `code` (from the QR) and `short_code` (typed)")


class LookupRequest(RequestBody):
    code: Code | None = None
    short_code: ShortCode | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LookupRequest:
        _one_of(self.code, self.short_code)
        return self


class ConsumeRequest(RequestBody):
    request_id: RequestId
    till_id: Id
    order_no: OrderNo
    code: Code | None = None
    short_code: ShortCode | None = None
    offline_at: Instant | None = Field(
        None, description="Set by a till agent replaying a write-off it accepted while HQ was unreachable"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ConsumeRequest:
        _one_of(self.code, self.short_code)
        return self


class ReverseRequest(RequestBody):
    request_id: RequestId
    till_id: Id
    reason: Text


class CancelRequest(RequestBody):
    request_id: RequestId
    reason: Text


class UsedAt(BaseModel):
    till_id: str | None
    store_id: str | None
    order_no: str | None
    at: str | None
    offline: bool = False


class VoucherStatusBody(BaseModel):
    verdict: str = Field(description="valid | used | expired | cancelled | unknown | invalid | other_store")
    reason: str
    voucher_id: str | None = None
    short_code: str | None = None
    state: str | None = Field(None, description="issued | used | reversed | cancelled | expired; null: not registered")
    reward_id: str | None = None
    value_fen: int | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    issuing_store: str | None = None
    used: UsedAt | None = None
    registered: bool = False
    reward_name: dict[str, str] | None = Field(None, description="{zh_CN, en} from the current catalogue")


class ConsumedBody(BaseModel):
    voucher_id: str
    short_code: str | None
    state: str
    value_fen: int | None
    reward_id: str
    till_id: str
    store_id: str | None
    order_no: str
    used_at: str
    offline: bool
    replayed: bool
    reward_name: dict[str, str] | None = None


class AlreadyUsedBody(BaseModel):
    error: str = "already_used"
    message: str = Field(description='"already used at till T at time X"')
    used: UsedAt


class VoucherHistoryItem(BaseModel):
    action: str
    at: str
    actor: str
    store_id: str | None
    order_no: str | None
    detail: str | None


class VoucherDetail(BaseModel):
    status: VoucherStatusBody
    member_id: str | None
    history: list[VoucherHistoryItem]


class NewTillRequest(RequestBody):
    till_id: Id
    store_id: Id


class TillCreated(BaseModel):
    till_id: str
    store_id: str
    token: str = Field(description="Shown once; HQ keeps only its SHA-256")


class VoucherKeyRequest(RequestBody):
    store_id: Id
    public_key: Annotated[str, StringConstraints(min_length=44, max_length=44)] = Field(
        description="base64 of the kiosk's raw 32-byte Ed25519 voucher public key"
    )
    valid_from: Instant | None = None


class RevokeKeyRequest(RequestBody):
    reason: Text
    public_key: Annotated[str, StringConstraints(min_length=44, max_length=44)] | None = None


class KeyDirectoryChanged(BaseModel):
    version: int
    keys: int


class SignedDocument(BaseModel):
    """A signed envelope (docs/mqtt.md): verify `sig` with HQ's public key over the canonical JSON."""

    v: int
    type: str
    scope: dict[str, Any]
    version: int
    issued_at: str
    not_after: str
    payload: dict[str, Any]
    key_id: str
    sig: str
