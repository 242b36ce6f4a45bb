"""Feeding what changed back to the kiosks: member updates, signed, in version order, exactly once.

Every use case that changes what a kiosk shows (points, lots, tier, stored value, card counters,
voucher states) writes a `member_changes` row in its own transaction. `prepare_member_update`
turns the unpublished rows into one signed `members_update` per scope (the fleet by default: a
member may walk into any store; with `feedback.member_scope: store` the stores each member belongs
to, hq.service.member_scope), each with the next version of the `members` line, stored in
`publications` in the same transaction that marks the rows published. Sending is a separate step
(`hq.publisher`), so a crash in between re-sends the same bytes instead of losing or re-signing
an update.

Two HQ processes may both try: the `published_versions` row is locked (`FOR UPDATE`; SQLite's
`BEGIN IMMEDIATE` serialises writers anyway), so versions never collide and updates are published
in commit order.

`acknowledged_event_ids` lists, for the members in the update, every kiosk event HQ has folded
into their state in the last `ACK_WINDOW`: a kiosk that missed an earlier update (updates are not
retained) still learns which of its local events the new state already contains, instead of
counting them twice. Kiosk events older than the window have long been acknowledged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.service.kiosk_entry import member_entries
from hq.service.member_scope import update_scopes
from hq.service.publications import queue_signed
from hq.store import tables as t
from sync.topics import HqTopics

ACK_WINDOW = dt.timedelta(days=30)
#: Members per update: keeps one update far below the kiosks' 4 MiB limit.
MAX_MEMBERS_PER_UPDATE = 500
UPDATE_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True)
class Prepared:
    version: int  # the last version taken (one per scope)
    members: int
    topics: tuple[str, ...]


def record_change(conn: Connection, member_id: str, at: dt.datetime, event_id: str | None = None) -> None:
    conn.execute(t.member_changes.insert().values(member_id=member_id, event_id=event_id, at=at))


def lock_version_line(conn: Connection, line: str) -> int:
    """Lock `line`'s row until the transaction ends and return its last version taken (the
    migrations create the row of every line, so there is always one to lock)."""
    row = conn.execute(
        sa.select(t.published_versions.c.version).where(t.published_versions.c.version_line == line).with_for_update()
    ).one()
    return int(row.version)


def take_versions(conn: Connection, line: str, count: int) -> int:
    """Take `count` consecutive versions of `line`; returns the first."""
    first = lock_version_line(conn, line) + 1
    conn.execute(
        t.published_versions.update()
        .where(t.published_versions.c.version_line == line)
        .values(version=first + count - 1)
    )
    return first


def next_version(conn: Connection, line: str) -> int:
    """Take the next version of `line` (locks its row until the transaction ends)."""
    return take_versions(conn, line, 1)


def acknowledged_events(conn: Connection, member_ids: list[str], now: dt.datetime) -> list[str]:
    """The kiosk events HQ folded into these members' state within `ACK_WINDOW`, oldest first."""
    e = t.kiosk_events.c
    return list(
        conn.execute(
            sa.select(e.event_id)
            .where(e.member_id.in_(member_ids), e.received_at >= now - ACK_WINDOW)
            .order_by(e.received_at, e.event_id)
        ).scalars()
    )


def prepare_member_update(
    conn: Connection, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime, *, member_scope: str = "fleet"
) -> Prepared | None:
    """Sign the next member update(s) from unpublished changes; None when there is nothing to send."""
    changes = t.member_changes.c
    unpublished = (
        sa.select(changes.change_id, changes.member_id)
        .where(changes.published_version.is_(None))
        .order_by(changes.change_id)
        .limit(MAX_MEMBERS_PER_UPDATE * 4)
    )
    if not conn.execute(unpublished.limit(1)).first():
        return None
    # Locking the version line: a second HQ process waits here and then finds these changes
    # published (kiosks need increasing versions, not dense ones).
    lock_version_line(conn, "members")
    pending = conn.execute(unpublished).all()
    if not pending:
        return None
    members: list[str] = []
    change_ids: list[int] = []
    for change_id, member_id in pending:
        if member_id not in members:
            if len(members) == MAX_MEMBERS_PER_UPDATE:
                break
            members.append(member_id)
        change_ids.append(change_id)
    version, sent_to = 0, []
    for scope, scoped in update_scopes(conn, members, member_scope).items():
        version = next_version(conn, "members")
        payload = {
            "members": member_entries(conn, scoped),
            "acknowledged_event_ids": acknowledged_events(conn, scoped, now),
        }
        sent_to.append(
            queue_signed(conn, key, topics, doc_type="members_update", version=version, now=now,
                         validity=UPDATE_VALIDITY, payload=payload, scope=scope)
        )  # fmt: skip
    conn.execute(
        t.member_changes.update().where(t.member_changes.c.change_id.in_(change_ids)).values(published_version=version)
    )
    return Prepared(version, len(members), tuple(sent_to))
