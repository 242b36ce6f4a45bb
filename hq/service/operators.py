"""Named operator accounts for HQ's HTTP API: who may read, who may change what.

Roles:

- `viewer`: reads everything, changes nothing (a write is 403);
- `store`: staff of one store (`store_id`): acts only on that store: members who belong to it
  (hq.service.member_scope: enrolment store, purchases, kiosks used), its tills and its kiosks'
  keys, and reports purchases only as its tills; reads everything;
- `admin`: everything, like the bootstrap token (`KIOSK_HQ_OPERATOR_TOKEN`, which stays an admin
  named "operator" so a fresh HQ can be reached before any account exists).

Accounts are created and disabled from HQ's shell (`kiosk-hq operator add|disable`, hq/cli_operators.py);
HQ keeps the SHA-256 of each token, never the token, and every audited change records the
operator's name.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError, NotFound
from hq.service.member_scope import member_stores
from hq.store import tables as t

ROLES = ("viewer", "store", "admin")
#: The name the bootstrap token acts under (the audit trail's "operator" from before accounts).
BOOTSTRAP_NAME = "operator"


class OperatorExists(HqServiceError):
    code = "operator_exists"
    status = 409


class OutsideStore(HqServiceError):
    """Store staff acting on something that is not their store's."""

    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    store_id: str | None


def new_operator_token() -> str:
    return "op_" + secrets.token_urlsafe(24)


def add_operator(
    conn: Connection, name: str, role: str, store_id: str | None, token_sha256: str, now: dt.datetime
) -> None:
    """Create an account (HQ keeps the token's SHA-256 only); a disabled name gets a new token and role."""
    if role not in ROLES:
        raise HqServiceError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if (role == "store") != (store_id is not None):
        raise HqServiceError("a store operator names its store (--store), and only a store operator does")
    if name == BOOTSTRAP_NAME:
        raise HqServiceError(f"{BOOTSTRAP_NAME!r} is the bootstrap token's name; choose another")
    o = t.operators.c
    row = conn.execute(sa.select(o.disabled_at).where(o.name == name)).first()
    if row is not None and row.disabled_at is None:
        raise OperatorExists(f"operator {name} exists already; disable it first to give it a new token")
    values = {"role": role, "store_id": store_id, "token_sha256": token_sha256, "created_at": now, "disabled_at": None}
    if row is None:
        conn.execute(t.operators.insert().values(name=name, **values))
    else:
        conn.execute(t.operators.update().where(o.name == name).values(**values))


def disable_operator(conn: Connection, name: str, now: dt.datetime) -> None:
    """Refuse the operator's token from now on."""
    o = t.operators.c
    done = conn.execute(t.operators.update().where(o.name == name, o.disabled_at.is_(None)).values(disabled_at=now))
    if done.rowcount == 0:
        raise NotFound(f"no enabled operator {name}")


def operator_by_token(conn: Connection, token_sha256: str) -> Operator | None:
    o = t.operators.c
    row = conn.execute(
        sa.select(o.name, o.role, o.store_id).where(o.token_sha256 == token_sha256, o.disabled_at.is_(None))
    ).first()
    return None if row is None else Operator(row.name, row.role, row.store_id)


def operators(conn: Connection) -> list[dict[str, object]]:
    o = t.operators.c
    return [
        dict(r._mapping)
        for r in conn.execute(sa.select(o.name, o.role, o.store_id, o.created_at, o.disabled_at).order_by(o.name))
    ]


def check_member_in_store(conn: Connection, member_id: str, store_id: str) -> None:
    """OutsideStore unless the member belongs to `store_id` (a member of no store belongs to every store)."""
    exists = conn.execute(sa.select(t.members.c.member_id).where(t.members.c.member_id == member_id)).first()
    if exists is None:
        raise NotFound(f"no member {member_id}")
    stores = member_stores(conn, [member_id]).get(member_id)
    if stores and store_id not in stores:
        raise OutsideStore(f"member {member_id} does not belong to store {store_id}")


def check_card_in_store(conn: Connection, uid: str, store_id: str) -> None:
    """OutsideStore unless the card is a member's who belongs to `store_id`."""
    member_id = conn.execute(sa.select(t.cards.c.member_id).where(t.cards.c.uid == uid.lower())).scalar()
    if member_id is None:
        raise OutsideStore(f"card {uid} is not a member's HQ knows; an admin blocks unknown cards")
    check_member_in_store(conn, member_id, store_id)


def purchase_store(conn: Connection, purchase_id: str) -> str | None:
    """The store a purchase was made at (None: no such purchase), for store staff's refunds."""
    return conn.execute(sa.select(t.purchases.c.store_id).where(t.purchases.c.purchase_id == purchase_id)).scalar()
