"""Feeding what changed back to the kiosks: member updates, signed, in version order, exactly once.

Every use case that changes what a kiosk shows (points, lots, tier, stored value, card counters,
voucher states) writes a `member_changes` row in its own transaction. `prepare_member_update`
turns the unpublished rows into ONE signed `members_update` (fleet scope: a member may walk into
any store), with the next version of the `members` line, stored in `publications` in the same
transaction that marks the rows published. Sending is a separate step (`hq.mqtt.publisher`), so a
crash in between re-sends the same bytes instead of losing or re-signing an update.

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
from hq.service.publications import queue_signed
from hq.store import tables as t
from sync.topics import HqTopics

ACK_WINDOW = dt.timedelta(days=30)
#: Members per update: keeps one update far below the kiosks' 4 MiB limit.
MAX_MEMBERS_PER_UPDATE = 500
UPDATE_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True)
class Prepared:
    version: int
    members: int
    topic: str


def record_change(conn: Connection, member_id: str, at: dt.datetime, event_id: str | None = None) -> None:
    conn.execute(t.member_changes.insert().values(member_id=member_id, event_id=event_id, at=at))


def next_version(conn: Connection, line: str) -> int:
    """Take the next version of `line` (locks its row until the transaction ends; the migration
    creates the row of every line, so there is always one to lock)."""
    row = conn.execute(
        sa.select(t.published_versions.c.version).where(t.published_versions.c.version_line == line).with_for_update()
    ).one()
    version = int(row.version) + 1
    conn.execute(
        t.published_versions.update().where(t.published_versions.c.version_line == line).values(version=version)
    )
    return version


def prepare_member_update(
    conn: Connection, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime
) -> Prepared | None:
    """Sign the next member update from unpublished changes; None when there is nothing to send."""
    changes = t.member_changes.c
    unpublished = (
        sa.select(changes.change_id, changes.member_id)
        .where(changes.published_version.is_(None))
        .order_by(changes.change_id)
        .limit(MAX_MEMBERS_PER_UPDATE * 4)
    )
    if not conn.execute(unpublished.limit(1)).first():
        return None
    # Taking the version locks its row: a second HQ process waits here and then finds these
    # changes published (its version then goes unused: kiosks need increasing versions, not dense).
    version = next_version(conn, "members")
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
    acked = [
        row.event_id
        for row in conn.execute(
            sa.select(t.kiosk_events.c.event_id)
            .where(t.kiosk_events.c.member_id.in_(members), t.kiosk_events.c.received_at >= now - ACK_WINDOW)
            .order_by(t.kiosk_events.c.received_at, t.kiosk_events.c.event_id)
        )
    ]
    topic = queue_signed(
        conn, key, topics, doc_type="members_update", version=version, now=now, validity=UPDATE_VALIDITY,
        payload={"members": member_entries(conn, members), "acknowledged_event_ids": acked},
    )  # fmt: skip
    conn.execute(
        t.member_changes.update().where(t.member_changes.c.change_id.in_(change_ids)).values(published_version=version)
    )
    return Prepared(version, len(members), topic)
