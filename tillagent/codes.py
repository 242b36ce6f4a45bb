"""What a scanner or a cashier typed: a voucher's QR text, or its 8-character short code.

A USB scanner types the QR text as keystrokes, sometimes with spaces or line breaks in it; the code
is sent to HQ without them and upper-cased, so every scan of one voucher is the same text (HQ derives
the short code from that text, and its idempotency digest covers it). A short code ("K7QM-3XPA") is
typed by hand: any case, with or without the dash, Crockford's O/I/L read as 0/1/1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.ledger.vouchers import (
    MalformedVoucherCode,
    VoucherCode,
    canonical_code,
    normalise_short_code,
    parse_voucher_code,
    short_code,
)

#: The order number HQ accepts (hq.api.voucher_models.OrderNo): refused here before any request.
ORDER_NO = re.compile(r"^[A-Za-z0-9_.\-/]{1,64}$")
_CROCKFORD = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$")
#: A real code is ~160 characters; anything this short after dropping dashes is a short code.
_SHORT_MAX = 10


@dataclass(frozen=True)
class Scanned:
    """One scanned or typed voucher reference."""

    text: str  # what is sent to HQ: the canonical code, or the short code "XXXX-XXXX"
    is_short: bool
    short_code: str | None
    voucher: VoucherCode | None = None  # parsed (not verified) when a full code
    problem: str | None = None  # why it is not a voucher code at all

    @property
    def voucher_id(self) -> str | None:
        return self.voucher.voucher_id if self.voucher is not None else None

    @property
    def value_fen(self) -> int | None:
        return self.voucher.value_fen if self.voucher is not None else None

    @property
    def label(self) -> str:
        """How a cashier names it: the short code, else the start of what was scanned."""
        return self.short_code or (self.text[:12] + "..." if len(self.text) > 12 else self.text) or "(empty)"

    def body(self) -> dict[str, str]:
        """The `code` / `short_code` part of an HQ request."""
        return {"short_code": self.text} if self.is_short else {"code": self.text}


def scanned(raw: str) -> Scanned:
    text = "".join(raw.split())
    if not text.isascii():
        # Before upper(): "ı".upper() is "I", so a lookalike would turn into another, valid text.
        return Scanned(text, False, None, problem="not a voucher code: contains characters outside A-Z, 2-7")
    short = normalise_short_code(text)
    if len(short.replace("-", "")) <= _SHORT_MAX:
        if not _CROCKFORD.fullmatch(short.replace("-", "")):
            return Scanned(text, True, None, problem="neither a voucher QR code nor an 8-character short code")
        return Scanned(short, True, short)
    text = canonical_code(text)
    try:
        voucher = parse_voucher_code(text)
    except MalformedVoucherCode as exc:
        return Scanned(text, False, None, problem=f"not a voucher code: {exc}")
    return Scanned(text, False, short_code(text), voucher)
