"""The full member snapshot, retained per scope and split into parts below the kiosks' push limit.

Member updates are not retained: a kiosk away longer than the broker keeps its session misses
them. The full snapshot repairs that. `prepare_member_snapshots` (every
`feedback.snapshot_interval_s` from the runtime, and `kiosk-hq publish-snapshot`) writes, per
scope (hq.service.member_scope), every member's kiosk entry with the kiosk events HQ folded into
it, packed by bytes into parts of at most `part_bytes` each: signed `members_part` envelopes for
the retained topics `{p}/hq/{scope}/members-part/{n}` (docs/mqtt.md "Member snapshots in parts").

The parts take consecutive versions of the `members` line under its row lock, in the transaction
that reads the members, so a snapshot's state is exactly what its versions say: any change
committed later reaches the kiosks in an update with a higher version. They are queued in
`publications` like every document and sent in order; topics of parts a shorter snapshot no longer
uses are then cleared (a retained empty payload, numbered on the `members_clear` line).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError
from hq.service.feedback import ACK_WINDOW, lock_version_line, next_version, take_versions
from hq.service.kiosk_entry import member_entries
from hq.service.member_scope import snapshot_scopes
from hq.service.publications import queue_raw, queue_signed
from hq.store import tables as t
from sync.envelope import sign_envelope
from sync.schemas import dumps
from sync.topics import MAX_SNAPSHOT_PARTS, HqTopics, Scope

#: Default part size: a quarter below the kiosks' default `max_push_bytes` (4 MiB).
DEFAULT_PART_BYTES = 3 * 1024 * 1024
#: Retained for kiosks that come back late; HQ publishes a new one every interval anyway.
SNAPSHOT_VALIDITY = dt.timedelta(days=30)
#: Members read per query while building a snapshot.
_BATCH = 500
#: Room in the envelope for version numbers and counts larger than the ones measured.
_SLACK = 128


class SnapshotTooLarge(HqServiceError):
    """One member's entry does not fit a part (raise `feedback.snapshot_part_bytes`), or a
    snapshot needs more parts than the contract allows."""

    code = "snapshot_too_large"


@dataclass(frozen=True)
class SnapshotPublished:
    scope: str
    first_version: int
    parts: int
    members: int
    cleared: int  # part topics of the previous snapshot cleared


@dataclass
class _Part:
    members: list[dict[str, Any]]
    acknowledged: list[str]
    size: int


def _envelope_overhead(key: Ed25519PrivateKey, scope: Scope, now: dt.datetime) -> int:
    empty = {"first_version": 1, "part": 0, "parts": 1, "members": [], "acknowledged_event_ids": []}
    envelope = sign_envelope(
        key, doc_type="members_part", scope=scope, version=1, issued_at=now, not_after=now + SNAPSHOT_VALIDITY,
        payload=empty,
    )  # fmt: skip
    return len(dumps(envelope)) + _SLACK


def _size(value: Any) -> int:
    """Bytes of `value` as the envelope carries it (sync.schemas.dumps: compact, UTF-8)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _folded_events(conn: Connection, member_ids: list[str], now: dt.datetime) -> dict[str, list[str]]:
    e = t.kiosk_events.c
    folded: dict[str, list[str]] = {}
    for member_id, event_id in conn.execute(
        sa.select(e.member_id, e.event_id)
        .where(e.member_id.in_(member_ids), e.received_at >= now - ACK_WINDOW)
        .order_by(e.received_at, e.event_id)
    ):
        folded.setdefault(member_id, []).append(event_id)
    return folded


def _pack(conn: Connection, member_ids: list[str], budget: int, now: dt.datetime, scope: str) -> list[_Part]:
    """Members (with their folded events) into parts whose payload stays within `budget` bytes."""
    parts = [_Part([], [], 0)]
    for start in range(0, len(member_ids), _BATCH):
        batch = member_ids[start : start + _BATCH]
        folded = _folded_events(conn, batch, now)
        for entry in member_entries(conn, batch):
            events = folded.get(entry["member_id"], [])
            # Each item costs its JSON and a separating comma (a list's brackets cover its commas).
            size = _size(entry) + 1 + _size(events)
            if size > budget:
                raise SnapshotTooLarge(
                    f"{scope}: member {entry['member_id']} takes {size} bytes, more than a part holds ({budget})"
                )
            if parts[-1].size + size > budget:
                parts.append(_Part([], [], 0))
            part = parts[-1]
            part.members.append(entry)
            part.acknowledged.extend(events)
            part.size += size
    if len(parts) > MAX_SNAPSHOT_PARTS:
        raise SnapshotTooLarge(f"{scope}: {len(parts)} parts, at most {MAX_SNAPSHOT_PARTS} (raise the part size)")
    return parts


def _scope_of(text: str) -> Scope:
    kind, _, ident = text.partition("/")
    return Scope(kind, ident or None)


def _clear(conn: Connection, topics: HqTopics, scope: Scope, parts: range, now: dt.datetime) -> int:
    for n in parts:
        queue_raw(
            conn, "members_clear", next_version(conn, "members_clear"), topics.member_part(scope, n), b"",
            retain=True, now=now,
        )  # fmt: skip
    return len(parts)


def prepare_member_snapshots(
    conn: Connection,
    key: Ed25519PrivateKey,
    topics: HqTopics,
    now: dt.datetime,
    *,
    member_scope: str = "fleet",
    part_bytes: int = DEFAULT_PART_BYTES,
    due_after: dt.timedelta | None = None,
) -> list[SnapshotPublished]:
    """Queue a full snapshot in parts for every scope; with `due_after`, only when the last one is
    at least that old (several HQ processes share one schedule: the line's lock serialises them)."""
    lock_version_line(conn, "members")
    s = t.member_snapshots.c
    previous = {row.scope: row for row in conn.execute(sa.select(t.member_snapshots))}
    if due_after is not None and previous and now - max(r.published_at for r in previous.values()) < due_after:
        return []
    published: list[SnapshotPublished] = []
    scopes = snapshot_scopes(conn, member_scope)
    for scope, member_ids in scopes.items():
        name = scope.topic_part
        parts = _pack(conn, member_ids, part_bytes - _envelope_overhead(key, scope, now), now, name)
        first = take_versions(conn, "members", len(parts))
        for number, part in enumerate(parts):
            payload = {
                "first_version": first, "part": number, "parts": len(parts),
                "members": part.members, "acknowledged_event_ids": part.acknowledged,
            }  # fmt: skip
            queue_signed(
                conn, key, topics, doc_type="members_part", version=first + number, now=now,
                validity=SNAPSHOT_VALIDITY, payload=payload, scope=scope, topic=topics.member_part(scope, number),
            )  # fmt: skip
        before = previous.pop(name, None)
        cleared = _clear(conn, topics, scope, range(len(parts), before.parts if before else 0), now)
        values = {"first_version": first, "parts": len(parts), "members": len(member_ids), "published_at": now}
        if before is None:
            conn.execute(t.member_snapshots.insert().values(scope=name, **values))
        else:
            conn.execute(t.member_snapshots.update().where(s.scope == name).values(**values))
        published.append(SnapshotPublished(name, first, len(parts), len(member_ids), cleared))
    for name, gone in previous.items():  # scopes no longer used (member_scope changed)
        _clear(conn, topics, _scope_of(name), range(gone.parts), now)
        conn.execute(t.member_snapshots.delete().where(s.scope == name))
    return published
