"""Reading a kiosk event's payload field by field, for the events HQ validates strictly
(`wheel_spin` in hq.service.wheel_spins, `birthday_gift` in hq.service.birthday_gifts).

Every check raises BadPayload with a message that starts with the field's path
("voucher.value_fen: must be an integer from 0 to ..."), which becomes the `bad_event` alarm's
detail; values are quoted cut to 80 characters, since a hostile payload may be large.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.ledger.vouchers import MalformedVoucherCode, parse_voucher_code, voucher_id

ID_MAX = 100  # event, spin, claim and voucher ids (hq.store.tables)
MEMBER_ID_MAX = 64
VERSION_MAX = 2**31 - 1
VALUE_MAX = 2**32 - 1  # a voucher's value in fen, as its code carries it
_CODE_MAX = 512
_VOUCHER_KEYS = frozenset({"voucher_id", "voucher_code", "reward_id", "value_fen", "issued_at", "expires_at"})


class BadPayload(ValueError):
    """A kiosk event's payload HQ refuses; the message names the field."""


def keys(obj: Any, what: str, required: frozenset[str], optional: frozenset[str] = frozenset()) -> Mapping[str, Any]:
    """`obj` as an object with every `required` key and no key beyond `optional`."""
    if not isinstance(obj, Mapping):
        raise BadPayload(f"{what} must be an object, got {type(obj).__name__}")
    missing = sorted(required - obj.keys())
    if missing:
        raise BadPayload(f"{what}.{missing[0]}: is required")
    unknown = sorted(set(obj) - required - optional)
    if unknown:
        raise BadPayload(f"{what}.{unknown[0]}: unknown key")
    return obj


def text(value: Any, name: str, longest: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest or not value.isprintable():
        raise BadPayload(f"{name}: must be 1 to {longest} printable characters, got {value!r:.80}")
    return value


def integer(value: Any, name: str, lowest: int, highest: int) -> int:
    """A JSON integer in [lowest, highest] (true and false are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise BadPayload(f"{name}: must be an integer from {lowest} to {highest}, got {value!r:.80}")
    return value


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadPayload(f"{name}: must be true or false, got {value!r:.80}")
    return value


def time(value: Any, name: str) -> dt.datetime:
    """An ISO 8601 time with a UTC offset."""
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadPayload(f"{name}: must be a time with a UTC offset, got {value!r:.80}")
    return moment


@dataclass(frozen=True)
class SignedVoucher:
    """A voucher a kiosk issued with an event (a wheel prize, a birthday gift)."""

    voucher_id: str
    voucher_code: str
    reward_id: str
    value_fen: int
    issued_at: dt.datetime
    expires_at: dt.datetime

    def registry_payload(self) -> dict[str, Any]:
        """What hq.service.vouchers.register_from_event reads from an event's payload."""
        return {"voucher_code": self.voucher_code, "value_fen": self.value_fen, "reward_id": self.reward_id}


def signed_voucher(obj: Any, device_id: str, reward_id: str) -> SignedVoucher:
    """The event's `voucher` object: exactly its six keys, reward `reward_id`, a code that decodes
    to this kiosk, this voucher id, reward and value (the signature is the till's to check)."""
    v = keys(obj, "voucher", _VOUCHER_KEYS)
    voucher = SignedVoucher(
        voucher_id=text(v["voucher_id"], "voucher.voucher_id", ID_MAX),
        voucher_code=text(v["voucher_code"], "voucher.voucher_code", _CODE_MAX),
        reward_id=text(v["reward_id"], "voucher.reward_id", 64),
        value_fen=integer(v["value_fen"], "voucher.value_fen", 0, VALUE_MAX),
        issued_at=time(v["issued_at"], "voucher.issued_at"),
        expires_at=time(v["expires_at"], "voucher.expires_at"),
    )
    if voucher.reward_id != reward_id:
        raise BadPayload(f"voucher.reward_id: must be {reward_id!r}, got {voucher.reward_id!r}")
    if voucher.expires_at <= voucher.issued_at:
        raise BadPayload("voucher.expires_at: must be after issued_at")
    try:
        code = parse_voucher_code(voucher.voucher_code)
    except MalformedVoucherCode as exc:
        raise BadPayload(f"voucher.voucher_code: {exc}") from None
    decoded = (voucher_id(code.device_id, code.serial), code.reward_id, code.value_fen)
    if code.device_id != device_id or decoded != (voucher.voucher_id, voucher.reward_id, voucher.value_fen):
        raise BadPayload("voucher.voucher_code: does not carry this voucher's id, reward and value")
    return voucher
