"""The voucher registry: look up, consume (核销), reverse, cancel; single use decided here, once.

Every write-off is one transaction that locks the voucher's row: of two tills consuming the same
voucher at the same moment, one commits `used` and the other then finds it used. A till's request
id is its idempotency key (kept per till in `till_requests` with the answer given): a retry gets
the first answer back with `replayed` true; the same id for another body is a conflict.

A correctly signed voucher HQ has not heard of (its kiosk was offline) is registered at consume
time when its value is at most the cap; the kiosk's redemption event fills in member and points
later (`register_from_event`). A consume the till agent accepted offline and replays now
(`offline_at`) is judged as of that moment; if the voucher was used meanwhile, the refusal is the
same as online and HQ raises an `offline_double_use` alarm: detected, bounded by the agent's cap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError, IdempotencyConflict, NotFound, Refused
from hq.service.feedback import record_change
from hq.service.listener_store import raise_alarm
from hq.service.voucher_keys import directory
from hq.store import tables as t
from hq.store.upsert import insert_ignore
from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from kiosk.ledger.vouchers import (
    MalformedVoucherCode,
    VerifyStatus,
    canonical_code,
    normalise_short_code,
    parse_voucher_code,
    short_code,
)

#: An offline write-off replayed later than this is refused (the agent's journal is days, not months).
MAX_OFFLINE_AGE = dt.timedelta(days=7)


@dataclass(frozen=True)
class VoucherPolicy:
    till_scope: str = "store"  # store | fleet: which vouchers a till may act on
    reverse_window: dt.timedelta = dt.timedelta(hours=24)
    unregistered_cap_fen: int = 10_000  # a voucher HQ has not heard of is accepted up to this value


@dataclass(frozen=True)
class Till:
    """Who is calling: a till (from its token) or an operator acting as one."""

    till_id: str
    store_id: str | None  # None: an operator, not bound to a store


class AlreadyUsed(HqServiceError):
    code = "already_used"
    status = 409

    def __init__(self, message: str, voucher_id: str, used: dict[str, Any]) -> None:
        super().__init__(message)
        self.voucher_id = voucher_id
        self.used = used


class StateConflict(Refused):
    status = 409


class OtherStore(HqServiceError):
    code = "other_store"
    status = 403


@dataclass(frozen=True)
class VoucherStatus:
    verdict: str  # valid | used | expired | cancelled | unknown | invalid | other_store
    reason: str
    voucher_id: str | None = None
    short_code: str | None = None
    state: str | None = None  # the registry's state; None when HQ has not registered it
    reward_id: str | None = None
    value_fen: int | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    issuing_store: str | None = None
    used: dict[str, Any] | None = None
    registered: bool = False
    reward_name: dict[str, str] | None = None  # from the current programme's catalogue


@dataclass(frozen=True)
class Consumed:
    voucher_id: str
    short_code: str
    state: str
    value_fen: int | None
    reward_id: str
    till_id: str
    store_id: str | None
    order_no: str
    used_at: str
    offline: bool
    replayed: bool = False
    reward_name: dict[str, str] | None = None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _used(row: Any) -> dict[str, Any] | None:
    if row is None or row.used_at is None:
        return None
    return {
        "till_id": row.used_till,
        "store_id": row.used_store,
        "order_no": row.used_order,
        "at": _iso(row.used_at),
        "offline": bool(row.used_offline),
    }


def _current_state(row: Any, now: dt.datetime) -> str:
    if row.state in ("issued", "reversed") and row.expires_at is not None and now >= row.expires_at:
        return "expired"
    return str(row.state)


def _locked(conn: Connection, voucher_id: str) -> Any:
    return conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher_id).with_for_update()).first()


def _history(conn: Connection, voucher_id: str, action: str, at: dt.datetime, actor: str, **extra: Any) -> None:
    conn.execute(t.voucher_history.insert().values(voucher_id=voucher_id, action=action, at=at, actor=actor, **extra))


def _scope_store(till: Till, policy: VoucherPolicy) -> str | None:
    return till.store_id if policy.till_scope == "store" else None


def status_of(row: Any, now: dt.datetime, till: Till, policy: VoucherPolicy) -> VoucherStatus:
    state = _current_state(row, now)
    verdict = {"issued": "valid", "reversed": "valid"}.get(state, state)
    scope = _scope_store(till, policy)
    reason = {
        "valid": f"valid until {_iso(row.expires_at)}",
        "used": f"already used at till {row.used_till} at {_iso(row.used_at)}",
        "expired": f"expired at {_iso(row.expires_at)}",
        "cancelled": f"cancelled at {_iso(row.state_at)}; its points went back to the member",
    }.get(verdict, state)
    if verdict == "valid" and scope is not None and row.store_id is not None and row.store_id != scope:
        verdict, reason = "other_store", f"issued in store {row.store_id}; this till takes store {scope}'s only"
    return VoucherStatus(
        verdict=verdict, reason=reason, voucher_id=row.voucher_id, short_code=row.short_code, state=state,
        reward_id=row.reward_id, value_fen=None if row.value_fen is None else int(row.value_fen),
        issued_at=_iso(row.issued_at), expires_at=_iso(row.expires_at), issuing_store=row.store_id,
        used=_used(row), registered=True,
    )  # fmt: skip


def reward_name(conn: Connection, reward_id: str | None) -> dict[str, str] | None:
    """The reward's name in the current programme's catalogue (None when it is not there)."""
    if not reward_id:
        return None
    document = conn.execute(sa.select(t.programs.c.document).order_by(t.programs.c.version.desc()).limit(1)).scalar()
    rewards = (document or {}).get("kiosk", {}).get("rewards", [])
    found = next((r for r in rewards if isinstance(r, dict) and r.get("reward_id") == reward_id), None)
    name = found.get("name") if found else None
    return {str(k): str(v) for k, v in name.items()} if isinstance(name, dict) else None


def lookup(
    conn: Connection, till: Till, policy: VoucherPolicy, now: dt.datetime, *, code: str | None, short: str | None
) -> VoucherStatus:
    """What a cashier sees before writing off: never raises for a bad code, says why instead."""
    found = _lookup(conn, till, policy, now, code=code, short=short)
    if found.verdict in ("invalid", "unknown"):
        return found  # a forged code's reward is whatever its forger wrote
    return replace(found, reward_name=reward_name(conn, found.reward_id))


def _lookup(
    conn: Connection, till: Till, policy: VoucherPolicy, now: dt.datetime, *, code: str | None, short: str | None
) -> VoucherStatus:
    if short is not None:
        row = conn.execute(sa.select(t.vouchers).where(t.vouchers.c.short_code == normalise_short_code(short))).first()
        if row is None:
            return VoucherStatus("unknown", f"no voucher with short code {short} is registered at HQ")
        if row.code is not None:
            # The key may have been revoked since HQ registered the voucher: judge it as a scan would.
            verdict = _keys_for(conn, row.code).verify(row.code, now, store_id=_scope_store(till, policy))
            if verdict.status not in (VerifyStatus.VALID, VerifyStatus.EXPIRED, VerifyStatus.OTHER_STORE):
                return VoucherStatus(
                    verdict="invalid", reason=verdict.reason, voucher_id=row.voucher_id, short_code=row.short_code,
                    state=row.state, registered=True,
                )  # fmt: skip
        return status_of(row, now, till, policy)
    verdict = _keys_for(conn, code).verify(code, now, store_id=_scope_store(till, policy))
    parsed = verdict.voucher
    if parsed is not None and verdict.status is not VerifyStatus.MALFORMED:
        row = conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == parsed.voucher_id)).first()
        if row is not None and verdict.status in (VerifyStatus.VALID, VerifyStatus.EXPIRED, VerifyStatus.OTHER_STORE):
            return status_of(row, now, till, policy)
    if verdict.ok and parsed is not None and parsed.value_fen > policy.unregistered_cap_fen:
        return VoucherStatus(
            verdict="unknown", voucher_id=parsed.voucher_id, value_fen=parsed.value_fen,
            reason=f"correctly signed, but HQ has not heard of it yet and its value ({parsed.value_fen} fen) is "
            f"above the {policy.unregistered_cap_fen} fen taken before its kiosk reports it: try again later",
        )  # fmt: skip
    if verdict.ok and parsed is not None:
        return VoucherStatus(
            verdict="valid", reason=f"{verdict.reason}; HQ has not heard of it yet (its kiosk was offline)",
            voucher_id=parsed.voucher_id, short_code=short_code(code or ""), reward_id=parsed.reward_id,
            value_fen=parsed.value_fen, issued_at=_iso(parsed.issued_at), expires_at=_iso(parsed.expires_at),
            issuing_store=verdict.store_id,
        )  # fmt: skip
    word = {VerifyStatus.EXPIRED: "expired", VerifyStatus.OTHER_STORE: "other_store"}.get(verdict.status, "invalid")
    return VoucherStatus(
        verdict=word, reason=verdict.reason, voucher_id=parsed.voucher_id if parsed else None,
        value_fen=parsed.value_fen if parsed else None, reward_id=parsed.reward_id if parsed else None,
        expires_at=_iso(parsed.expires_at) if parsed else None, issuing_store=verdict.store_id,
    )  # fmt: skip


# -- idempotency -----------------------------------------------------------------------------------


def _key(till: Till, request_id: str) -> str:
    return f"voucher:{till.till_id}:{request_id}"[:100]


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _replayed(conn: Connection, key: str, digest: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(t.till_requests.c.request_digest, t.till_requests.c.response).where(
            t.till_requests.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_digest != digest:
        raise IdempotencyConflict("this request id was used for another request: retry the same one, or use a new id")
    return dict(row.response)


def _remember(conn: Connection, key: str, kind: str, digest: str, response: dict[str, Any], now: dt.datetime) -> None:
    conn.execute(
        t.till_requests.insert().values(
            idempotency_key=key, kind=kind, request_digest=digest, response=response, at=now
        )
    )


# -- consume ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumeRequest:
    request_id: str
    order_no: str
    code: str | None = None
    short_code: str | None = None
    offline_at: dt.datetime | None = None


def consume(conn: Connection, till: Till, policy: VoucherPolicy, request: ConsumeRequest, now: dt.datetime) -> Consumed:
    key = _key(till, request.request_id)
    body = {**asdict(request), "offline_at": _iso(request.offline_at), "till_id": till.till_id}
    digest = _digest(body)
    if (done := _replayed(conn, key, digest)) is not None:
        return Consumed(**{**done, "replayed": True})
    at = request.offline_at or now
    if request.offline_at is not None and not now - MAX_OFFLINE_AGE <= request.offline_at <= now + dt.timedelta(
        minutes=5
    ):
        raise Refused("offline_too_old", f"an offline write-off from {_iso(request.offline_at)} is too old to replay")
    row = _resolve(conn, till, policy, request, at, now)
    state = _current_state(row, at)
    if state == "used":
        raise AlreadyUsed(
            f"already used at till {row.used_till} at {_iso(row.used_at)}", row.voucher_id, _used(row) or {}
        )
    if state == "cancelled":
        raise StateConflict("cancelled", f"cancelled at {_iso(row.state_at)}; its points went back to the member")
    if state == "expired":
        raise Refused("expired", f"expired at {_iso(row.expires_at)}")
    scope = _scope_store(till, policy)
    if scope is not None and row.store_id is not None and row.store_id != scope:
        raise OtherStore(f"voucher of store {row.store_id}; this till takes store {scope}'s only")
    offline = request.offline_at is not None
    conn.execute(
        t.vouchers.update()
        .where(t.vouchers.c.voucher_id == row.voucher_id)
        .values(
            state="used", state_at=at, used_at=at, used_till=till.till_id, used_store=till.store_id,
            used_order=request.order_no, used_request=request.request_id, used_offline=offline,
        )
    )  # fmt: skip
    _history(
        conn, row.voucher_id, "used", at, till.till_id, store_id=till.store_id, order_no=request.order_no,
        request_id=request.request_id, detail="offline" if offline else None,
    )  # fmt: skip
    if row.member_id is not None:
        record_change(conn, row.member_id, now)
    result = Consumed(
        voucher_id=row.voucher_id, short_code=row.short_code, state="used",
        value_fen=None if row.value_fen is None else int(row.value_fen), reward_id=row.reward_id,
        till_id=till.till_id, store_id=till.store_id, order_no=request.order_no, used_at=_iso(at) or "",
        offline=offline, reward_name=reward_name(conn, row.reward_id),
    )  # fmt: skip
    _remember(conn, key, "voucher_consume", digest, asdict(result), now)
    return result


def _resolve(
    conn: Connection, till: Till, policy: VoucherPolicy, request: ConsumeRequest, at: dt.datetime, now: dt.datetime
) -> Any:
    """The voucher's locked registry row, registering a correctly signed one HQ has not heard of."""
    if request.code is None:
        if request.short_code is None:
            raise Refused("invalid", "give the voucher's code (from the QR) or its short code")
        typed = normalise_short_code(request.short_code)
        found = conn.execute(sa.select(t.vouchers.c.voucher_id).where(t.vouchers.c.short_code == typed)).scalar()
        if found is None:
            raise NotFound(f"no voucher with short code {request.short_code} is registered at HQ; scan its QR code")
        row = _locked(conn, found)
        if row.code is not None:
            _check_signature(conn, row.code, at, till, policy)
        return row
    verdict = _check_signature(conn, request.code, at, till, policy)
    parsed = verdict.voucher
    assert parsed is not None
    row = _locked(conn, parsed.voucher_id)
    if row is not None:
        return row
    if parsed.value_fen > policy.unregistered_cap_fen:
        raise Refused(
            "over_unregistered_cap",
            f"HQ has not heard of this voucher yet and its value {parsed.value_fen} fen is above the "
            f"{policy.unregistered_cap_fen} fen accepted before its kiosk reports it",
        )
    insert_ignore(
        conn,
        t.vouchers,
        {
            "voucher_id": parsed.voucher_id, "short_code": short_code(request.code),
            "code": canonical_code(request.code),
            "member_id": None, "device_id": parsed.device_id, "store_id": verdict.store_id,
            "reward_id": parsed.reward_id, "points": None, "value_fen": parsed.value_fen,
            "issued_at": parsed.issued_at, "expires_at": parsed.expires_at, "state": "issued", "state_at": now,
            "source": "till", "event_id": None,
        },
    )  # fmt: skip
    _history(conn, parsed.voucher_id, "registered", now, till.till_id, store_id=till.store_id,
             detail="first heard of from a till")  # fmt: skip
    return _locked(conn, parsed.voucher_id)


def _keys_for(conn: Connection, code: object) -> VoucherKeyDirectory:
    """The issuing device's keys only: one small query instead of the fleet's directory."""
    try:
        device_id = parse_voucher_code(code).device_id
    except MalformedVoucherCode:
        return VoucherKeyDirectory([])
    return directory(conn, device_id=device_id)


def _check_signature(conn: Connection, code: str, at: dt.datetime, till: Till, policy: VoucherPolicy) -> Any:
    # Expiry is judged by the registry (as of `at`); the signature and the key's standing here.
    verdict = _keys_for(conn, code).verify(code, at, store_id=_scope_store(till, policy))
    if verdict.status is VerifyStatus.OTHER_STORE:
        raise OtherStore(verdict.reason)
    if verdict.status is VerifyStatus.EXPIRED:
        raise Refused("expired", verdict.reason)
    if not verdict.ok:
        raise Refused("invalid", f"{verdict.status.value}: {verdict.reason}")
    return verdict


def record_offline_double_use(
    conn: Connection, till: Till, request: ConsumeRequest, refused: AlreadyUsed, now: dt.datetime
) -> None:
    """A write-off a till accepted offline met one made elsewhere: alarm and history, in their own
    transaction (the refusal rolled the consume's back). Once per till request."""
    voucher_id, used = refused.voucher_id, refused.used
    h = t.voucher_history.c
    seen = conn.execute(
        sa.select(h.history_id).where(
            h.voucher_id == voucher_id, h.action == "double_use", h.actor == till.till_id,
            h.request_id == request.request_id,
        )
    ).first()  # fmt: skip
    if seen is not None:
        return
    _history(
        conn, voucher_id, "double_use", now, till.till_id, store_id=till.store_id, order_no=request.order_no,
        request_id=request.request_id, detail=f"accepted offline at {_iso(request.offline_at)}",
    )  # fmt: skip
    raise_alarm(
        conn, "offline_double_use", voucher_id,
        f"voucher {voucher_id} used at till {used.get('till_id')} ({used.get('at')}) and offline at till "
        f"{till.till_id} ({_iso(request.offline_at)}, order {request.order_no})",
        now,
    )  # fmt: skip


def offline_double_uses(conn: Connection) -> int:
    """How many offline write-offs met an earlier one (bench.till's `offline_double_use_detected`)."""
    h = t.voucher_history.c
    return int(conn.execute(sa.select(sa.func.count()).where(h.action == "double_use")).scalar() or 0)


# -- tills -----------------------------------------------------------------------------------------


class TillExists(HqServiceError):
    code = "till_exists"
    status = 409


def new_till_token() -> str:
    return "till_" + secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    """What HQ keeps of a till's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_till(conn: Connection, till_id: str, store_id: str, token_sha256: str, now: dt.datetime) -> None:
    """Give a till its credentials (HQ keeps the token's SHA-256 only); a disabled till's id gets a new token."""
    row = conn.execute(sa.select(t.tills.c.disabled_at).where(t.tills.c.till_id == till_id)).first()
    if row is not None and row.disabled_at is None:
        raise TillExists(f"till {till_id} exists already; disable it first to give it a new token")
    if row is not None:
        conn.execute(
            t.tills.update()
            .where(t.tills.c.till_id == till_id)
            .values(store_id=store_id, token_sha256=token_sha256, created_at=now, disabled_at=None)
        )
        return
    conn.execute(t.tills.insert().values(till_id=till_id, store_id=store_id, token_sha256=token_sha256, created_at=now))


def disable_till(conn: Connection, till_id: str, now: dt.datetime) -> None:
    """Refuse the till's token from now on."""
    done = conn.execute(
        t.tills.update().where(t.tills.c.till_id == till_id, t.tills.c.disabled_at.is_(None)).values(disabled_at=now)
    )
    if done.rowcount == 0:
        raise NotFound(f"no enabled till {till_id}")


# -- reverse and cancel ----------------------------------------------------------------------------


def reverse(
    conn: Connection, till: Till, policy: VoucherPolicy, voucher_id: str, request_id: str, reason: str, now: dt.datetime
) -> VoucherStatus:
    """Undo a write-off within the window (the sale was voided): the voucher is usable again."""
    key = _key(till, request_id)
    digest = _digest({"voucher_id": voucher_id, "reason": reason, "till_id": till.till_id, "kind": "reverse"})
    if (done := _replayed(conn, key, digest)) is not None:
        return VoucherStatus(**done)
    row = _locked(conn, voucher_id)
    if row is None:
        raise NotFound(f"no voucher {voucher_id}")
    if row.state != "used":
        raise StateConflict("not_used", f"voucher {voucher_id} is {row.state}, not used: nothing to reverse")
    if till.store_id is not None and row.used_store != till.store_id:
        raise StateConflict("other_till", f"used at till {row.used_till} of store {row.used_store}; reverse it there")
    if now > row.used_at + policy.reverse_window:
        raise StateConflict(
            "reverse_window_passed",
            f"used at {_iso(row.used_at)}; write-offs can be reversed for {policy.reverse_window} only",
        )
    conn.execute(
        t.vouchers.update()
        .where(t.vouchers.c.voucher_id == voucher_id)
        .values(state="reversed", state_at=now, used_at=None, used_till=None, used_store=None, used_order=None,
                used_request=None, used_offline=None)
    )  # fmt: skip
    _history(conn, voucher_id, "reversed", now, till.till_id, store_id=till.store_id, order_no=row.used_order,
             request_id=request_id, detail=reason[:500])  # fmt: skip
    if row.member_id is not None:
        record_change(conn, row.member_id, now)
    status = status_of(_locked(conn, voucher_id), now, till, policy)
    _remember(conn, key, "voucher_reverse", digest, asdict(status), now)
    return status


def cancel(
    conn: Connection,
    actor: Till,
    policy: VoucherPolicy,
    voucher_id: str,
    request_id: str,
    reason: str,
    now: dt.datetime,
) -> VoucherStatus:
    """Cancel an unused voucher: the points its redemption took go back to the lots they came from."""
    key = _key(actor, request_id)
    digest = _digest({"voucher_id": voucher_id, "reason": reason, "till_id": actor.till_id, "kind": "cancel"})
    if (done := _replayed(conn, key, digest)) is not None:
        return VoucherStatus(**done)
    row = _locked(conn, voucher_id)
    if row is None:
        raise NotFound(f"no voucher {voucher_id}")
    state = _current_state(row, now)
    if state == "used":
        raise AlreadyUsed(f"already used at till {row.used_till} at {_iso(row.used_at)}", voucher_id, _used(row) or {})
    if state != "issued" and state != "reversed":
        raise StateConflict(f"{state}", f"voucher {voucher_id} is {state}: it cannot be cancelled")
    if actor.store_id is not None and row.store_id is not None and row.store_id != actor.store_id:
        raise OtherStore(f"voucher of store {row.store_id}")
    if row.member_id is None or row.event_id is None:
        raise StateConflict(
            "not_reconciled", "HQ has not received this voucher's redemption from its kiosk yet; cancel it later"
        )
    _refund_points(conn, row, now)
    conn.execute(
        t.vouchers.update().where(t.vouchers.c.voucher_id == voucher_id).values(state="cancelled", state_at=now)
    )
    _history(conn, voucher_id, "cancelled", now, actor.till_id, store_id=actor.store_id, request_id=request_id,
             detail=reason[:500])  # fmt: skip
    record_change(conn, row.member_id, now)
    status = status_of(_locked(conn, voucher_id), now, actor, policy)
    _remember(conn, key, "voucher_cancel", digest, asdict(status), now)
    return status


def _refund_points(conn: Connection, row: Any, now: dt.datetime) -> None:
    """Put the redemption's points back where they came from: its lots, and its overdraft."""
    e = t.entries.c
    spent = conn.execute(
        sa.select(e.points_delta, e.overdraft_delta, e.detail, e.rules_version).where(
            e.member_id == row.member_id, e.kind == "redemption", e.ref == row.voucher_id
        )
    ).first()
    if spent is None:
        raise StateConflict("not_reconciled", f"no redemption of {row.voucher_id} in HQ's log")
    conn.execute(sa.select(t.members.c.member_id).where(t.members.c.member_id == row.member_id).with_for_update())
    lots = (spent.detail or {}).get("lots", [])
    for lot_id, points in lots:
        conn.execute(t.lots.update().where(t.lots.c.lot_id == lot_id).values(points_left=t.lots.c.points_left + points))
    # The redemption's overdraft may have been repaid since (a purchase settles overdraft first):
    # only what is still owed is forgiven; the repaid part comes back as points, in a lot of its own.
    shortfall = int(spent.overdraft_delta)
    owed = int(
        conn.execute(sa.select(t.members.c.overdraft_points).where(t.members.c.member_id == row.member_id)).scalar()
        or 0
    )
    forgiven = min(owed, shortfall)
    repaid = shortfall - forgiven
    if forgiven:
        conn.execute(
            t.members.update()
            .where(t.members.c.member_id == row.member_id)
            .values(overdraft_points=t.members.c.overdraft_points - forgiven, updated_at=now)
        )
    lot_id = None
    if repaid:
        lot_id = f"L-cancel-{row.voucher_id}"
        expires = max(
            (
                r.expires_at
                for r in conn.execute(
                    sa.select(t.lots.c.expires_at).where(t.lots.c.lot_id.in_([lot for lot, _ in lots]))
                )
            ),
            default=now + dt.timedelta(days=365),
        )
        conn.execute(
            t.lots.insert().values(
                lot_id=lot_id, member_id=row.member_id, points_earned=repaid, points_left=repaid, earned_at=now,
                expires_at=expires, source=f"cancel:{row.voucher_id}",
            )
        )  # fmt: skip
    conn.execute(
        t.entries.insert().values(
            member_id=row.member_id, kind="voucher_cancel", points_delta=-int(spent.points_delta) + repaid,
            overdraft_delta=-forgiven, lot_id=lot_id, ref=row.voucher_id, rules_version=spent.rules_version, at=now,
            detail={"lots": lots, "overdraft_forgiven": forgiven, "overdraft_repaid_returned": repaid},
        )
    )  # fmt: skip


# -- from the kiosk's redemption event -------------------------------------------------------------


def register_from_event(
    conn: Connection,
    *,
    voucher_id: str,
    member_id: str,
    device_id: str,
    store_id: str | None,
    payload: dict[str, Any],
    points: int,
    issued_at: dt.datetime,
    expires_at: dt.datetime | None,
    event_id: str,
    now: dt.datetime,
) -> None:
    """Enter the voucher a redemption issued, or complete the row a till registered first."""
    code = payload.get("voucher_code") if isinstance(payload.get("voucher_code"), str) else None
    value = payload.get("value_fen")
    value_fen = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    fresh = insert_ignore(
        conn,
        t.vouchers,
        {
            "voucher_id": voucher_id, "short_code": short_code(code) if code else None, "code": code,
            "member_id": member_id, "device_id": device_id, "store_id": store_id,
            "reward_id": str(payload.get("reward_id") or ""), "points": points, "value_fen": value_fen,
            "issued_at": issued_at, "expires_at": expires_at, "state": "issued", "state_at": issued_at,
            "source": "kiosk", "event_id": event_id,
        },
    )  # fmt: skip
    if fresh:
        _history(conn, voucher_id, "issued", issued_at, device_id, store_id=store_id)
        return
    conn.execute(
        t.vouchers.update()
        .where(t.vouchers.c.voucher_id == voucher_id, t.vouchers.c.event_id.is_(None))
        .values(member_id=member_id, points=points, event_id=event_id)
    )
    _history(conn, voucher_id, "reconciled", now, device_id, store_id=store_id, detail=f"event {event_id}")
