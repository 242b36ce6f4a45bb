"""A kiosk's `birthday_gift` event (生日礼) at HQ: validated field by field, applied exactly once.

**Validation.** `parse_gift` reads the payload kiosk/ledger/birthday.py writes (docs/mqtt.md) and
refuses, naming the field, anything else: unknown or missing keys, ids beyond their columns, a
year outside 1900..9999, a voucher that is not reward "birthday-gift" or whose code does not decode
to its own id, reward and value. A refused claim is stored as its kiosk event with outcome
`malformed` and a `bad_event` alarm saying why; so is a claim under a rules version HQ never
published with an enabled birthday gift (no honest kiosk gives one then).

**Applying** (inside the transaction that stores the event, under the member's row lock; the
`birthday_gifts` key on the event id makes a replay a no-op):

- the voucher enters the voucher registry as a redemption's does (cost 0, reward id
  "birthday-gift"), so a till can write it off;
- the member's `birthday_gift_year` moves up to the claim's year (never down: a late claim of an
  earlier year leaves it), sent to kiosks in member updates so the next kiosk refuses that year;
- an entry of kind `birthday_gift` with 0 points (the voucher in its detail), for HQ's history;
  kiosks' 积分明细 lists point movements only, so it is not sent to them;
- a second claim of a member and year (two kiosks offline at once) is accepted, since the member
  holds its voucher, and kept with `duplicate` set, outcome `duplicate_year` and a
  `birthday_gift_duplicate` alarm for the service desk (which may cancel one voucher);
- a claim that disagrees with the rules (the voucher's value or validity) or with the member's
  birthday (the claim's day, in the kiosk's offset, not in that year's window) is applied as above
  and flagged: `mismatch` in its row, outcome `mismatch`, a `birthday_mismatch` alarm for the kiosk.

Every applied claim queues the member for the next update with its event id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.event_fields import (
    ID_MAX,
    MEMBER_ID_MAX,
    VERSION_MAX,
    BadPayload,
    SignedVoucher,
    flag,
    integer,
    keys,
    signed_voucher,
    text,
)
from hq.service.feedback import record_change
from hq.service.listener_store import raise_alarm
from hq.service.programs import program_of
from hq.service.voucher_keys import device_store
from hq.service.vouchers import register_from_event
from hq.store import tables as t
from hq.store.upsert import insert_ignore
from kiosk.ledger.birthday import window
from kiosk.ledger.rules import BIRTHDAY_REWARD_ID, BirthdayGift
from sync.schemas import EventMessage

#: The kiosk's bounds on a year (kiosk.ledger.snapshot, birthday_gift_year).
YEAR_MIN, YEAR_MAX = 1900, 9999
_REQUIRED = frozenset({"device_id", "claim_id", "member_id", "year", "voucher", "rules_version", "offline"})


@dataclass(frozen=True)
class Gift:
    """A validated `birthday_gift` payload."""

    device_id: str
    claim_id: str
    member_id: str
    year: int
    voucher: SignedVoucher
    rules_version: int
    offline: bool


def parse_gift(payload: Mapping[str, Any], device_id: str) -> Gift:
    """The claim in `payload` (of an event from `device_id`); BadPayload naming the field otherwise."""
    p = keys(payload, "payload", _REQUIRED)
    if p["device_id"] != device_id:
        raise BadPayload(f"device_id: {p['device_id']!r:.80} is not the sending kiosk {device_id!r}")
    return Gift(
        device_id=device_id,
        claim_id=text(p["claim_id"], "claim_id", ID_MAX),
        member_id=text(p["member_id"], "member_id", MEMBER_ID_MAX),
        year=integer(p["year"], "year", YEAR_MIN, YEAR_MAX),
        voucher=signed_voucher(p["voucher"], device_id, BIRTHDAY_REWARD_ID),
        rules_version=integer(p["rules_version"], "rules_version", 1, VERSION_MAX),
        offline=flag(p["offline"], "offline"),
    )


def mismatches(gift: Gift, rules: BirthdayGift, birthday: str | None, claimed_at: dt.datetime) -> list[str]:
    """What in the claim disagrees with its rules version's gift or with the member's birthday.

    The claim's day is `claimed_at`'s in its own offset (the kiosk's clock, as the kiosk decided)."""
    found = []
    voucher = gift.voucher
    if voucher.value_fen != rules.value_fen:
        found.append(f"voucher value {voucher.value_fen} fen, the rules say {rules.value_fen}")
    if voucher.expires_at - voucher.issued_at != dt.timedelta(days=rules.validity_days):
        found.append(
            f"voucher valid {voucher.expires_at - voucher.issued_at}, the rules say {rules.validity_days} days"
        )
    day = claimed_at.date()
    found_window = window(birthday, day, rules.window_days)
    if found_window is None or found_window[0] != gift.year:
        found.append(f"claimed on {day} for {gift.year}, outside the window of birthday {birthday or 'unknown'}")
    return found


def _refuse(conn: Connection, event: EventMessage, why: str, now: dt.datetime) -> str:
    raise_alarm(conn, "bad_event", f"{event.device_id}/{event.seq}", f"birthday_gift refused: {why}"[:500], now)
    return "malformed"


def apply_gift(conn: Connection, event: EventMessage, now: dt.datetime) -> str:
    """Apply a new `birthday_gift` event; returns its outcome: applied | duplicate_year | mismatch |
    duplicate (this event id was applied before) | malformed | unknown_member."""
    try:
        gift = parse_gift(event.payload, event.device_id)
    except BadPayload as exc:
        return _refuse(conn, event, str(exc), now)
    m = t.members.c
    member = conn.execute(sa.select(t.members).where(m.member_id == gift.member_id).with_for_update()).first()
    if member is None:
        raise_alarm(
            conn, "unknown_member", gift.member_id, f"birthday gift {gift.claim_id} from {event.device_id}", now
        )
        return "unknown_member"
    program = program_of(conn, gift.rules_version)
    rules = program.rules.birthday_gift if program is not None else None
    if rules is None or not rules.enabled:
        return _refuse(
            conn, event, f"rules_version {gift.rules_version} is no programme of HQ's with a birthday gift", now
        )
    g = t.birthday_gifts.c
    # Under the member's lock, so of two kiosks' claims of one year exactly one is the first.
    earlier = conn.execute(
        sa.select(g.event_id).where(g.member_id == gift.member_id, g.year == gift.year).limit(1)
    ).first()
    mismatch = "; ".join(mismatches(gift, rules, member.birthday, event.created_at))[:500] or None
    voucher = gift.voucher
    if not insert_ignore(
        conn,
        t.birthday_gifts,
        {
            "event_id": event.event_id, "device_id": gift.device_id, "claim_id": gift.claim_id,
            "member_id": gift.member_id, "year": gift.year, "voucher_id": voucher.voucher_id,
            "value_fen": voucher.value_fen, "rules_version": gift.rules_version, "offline": gift.offline,
            "duplicate": earlier is not None, "mismatch": mismatch, "at": event.created_at,
        },
    ):  # fmt: skip
        return "duplicate"
    register_from_event(
        conn, voucher_id=voucher.voucher_id, member_id=gift.member_id, device_id=gift.device_id,
        store_id=device_store(conn, gift.device_id), payload=voucher.registry_payload(), points=0,
        issued_at=voucher.issued_at, expires_at=voucher.expires_at, event_id=event.event_id, now=now,
    )  # fmt: skip
    conn.execute(
        t.entries.insert().values(
            member_id=gift.member_id, kind="birthday_gift", points_delta=0, ref=voucher.voucher_id,
            rules_version=gift.rules_version, at=event.created_at,
            detail={"device_id": gift.device_id, "event_id": event.event_id, "claim_id": gift.claim_id,
                    "year": gift.year, "voucher_id": voucher.voucher_id, "value_fen": voucher.value_fen,
                    "offline": gift.offline, "duplicate": earlier is not None},
        )
    )  # fmt: skip
    if member.birthday_gift_year is None or gift.year > int(member.birthday_gift_year):
        conn.execute(
            t.members.update().where(m.member_id == gift.member_id).values(birthday_gift_year=gift.year, updated_at=now)
        )
    if earlier is not None:
        raise_alarm(
            conn, "birthday_gift_duplicate", gift.member_id,
            f"a second birthday gift for {gift.year}: voucher {voucher.voucher_id} at {gift.device_id} "
            f"({'offline' if gift.offline else 'online'}), after event {earlier.event_id}",
            now,
        )  # fmt: skip
    if mismatch:
        raise_alarm(
            conn,
            "birthday_mismatch",
            gift.device_id,
            f"claim {gift.claim_id} ({event.event_id}): {mismatch}"[:500],
            now,
        )
    record_change(conn, gift.member_id, now, event.event_id)
    if mismatch:
        return "mismatch"
    return "duplicate_year" if earlier is not None else "applied"
