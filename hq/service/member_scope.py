"""Which kiosks hear about a member: the whole fleet (the default) or the stores the member belongs to.

`feedback.member_scope` in hq.yaml. With `fleet` every member update and the full snapshot go to
the fleet scope: any kiosk knows any member, because a member may walk into any store. With
`store` they go to `store/<s>` for each store the member **belongs to**, which HQ reads from its
own tables:

- the member's enrolment store (`members.home_store`);
- every store where the member made a purchase (`purchases.store_id`, the till's store);
- every store with a kiosk the member used (`kiosk_events.member_id` of a device whose store HQ
  knows from its status, `devices.store_id`): redemptions, check-ins, PIN locks.

A member who belongs to no store yet (enrolled without a home store, never seen anywhere) belongs
to every store: updates go to the fleet scope and every store's snapshot carries the member.

Trade-off: each kiosk holds and receives only its stores' members (smaller snapshots, less traffic
and less personal data per device), but a member's first visit to a store where they have never
bought or used a kiosk finds that store's kiosks without them until a purchase there (or an
operator setting the home store) makes them belong; the first purchase's update then reaches the
store at once. Membership only grows: a store keeps its members.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.store import tables as t
from sync.topics import Scope

MEMBER_SCOPES = ("fleet", "store")


def member_stores(conn: Connection, member_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
    """member -> the stores it belongs to (members with none are left out); all members when None."""
    m, p, e, d = t.members.c, t.purchases.c, t.kiosk_events.c, t.devices.c
    home = sa.select(m.member_id, m.home_store.label("store_id")).where(m.home_store.is_not(None))
    bought = sa.select(p.member_id, p.store_id).distinct()
    used = (
        sa.select(e.member_id, d.store_id)
        .distinct()
        .join(t.devices, d.device_id == e.device_id)
        .where(e.member_id.is_not(None), d.store_id.is_not(None))
    )
    if member_ids is not None:
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        home, bought, used = (
            home.where(m.member_id.in_(ids)),
            bought.where(p.member_id.in_(ids)),
            used.where(e.member_id.in_(ids)),
        )
    stores: dict[str, set[str]] = {}
    for query in (home, bought, used):
        for member_id, store_id in conn.execute(query):
            stores.setdefault(member_id, set()).add(store_id)
    return stores


def update_scopes(conn: Connection, member_ids: Iterable[str], member_scope: str) -> dict[Scope, list[str]]:
    """scope -> the members (of `member_ids`) whose updates it gets, in the given order."""
    ids = list(dict.fromkeys(member_ids))
    if member_scope == "fleet":
        return {Scope.fleet(): ids} if ids else {}
    belongs = member_stores(conn, ids)
    scopes: dict[Scope, list[str]] = {}
    for member_id in ids:
        targets = [Scope.store(s) for s in sorted(belongs.get(member_id, ()))] or [Scope.fleet()]
        for scope in targets:
            scopes.setdefault(scope, []).append(member_id)
    return scopes


def snapshot_scopes(conn: Connection, member_scope: str) -> dict[Scope, list[str]]:
    """scope -> every member its full snapshot carries (sorted): one scope per store HQ knows of
    (from memberships and kiosks) with `store`, the fleet with `fleet`."""
    everyone = list(conn.execute(sa.select(t.members.c.member_id).order_by(t.members.c.member_id)).scalars())
    if member_scope == "fleet":
        return {Scope.fleet(): everyone}
    belongs = member_stores(conn)
    kiosk_stores = conn.execute(sa.select(t.devices.c.store_id).distinct().where(t.devices.c.store_id.is_not(None)))
    stores = {s for found in belongs.values() for s in found} | set(kiosk_stores.scalars())
    carried: dict[str, list[str]] = {store: [] for store in sorted(stores)}
    for member_id in everyone:
        for store in belongs.get(member_id) or stores:  # no store yet: every store's
            carried[store].append(member_id)
    return {Scope.store(store): members for store, members in carried.items()}
