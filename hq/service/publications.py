"""HQ's outgoing documents: signed and stored in `publications` inside the transaction that decided
them (a transactional outbox), sent later in order by the feedback pump (hq/publisher.py).

A crash between commit and send re-sends the same bytes, which kiosks answer "current"; the
sender locks the rows it sends, so two HQ processes never send versions out of order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.store import tables as t
from sync.envelope import sign_envelope
from sync.inbound import VERSION_LINES
from sync.schemas import dumps
from sync.topics import RETAINED_DOCUMENTS, HqTopics, Scope


def queue_signed(
    conn: Connection,
    key: Ed25519PrivateKey,
    topics: HqTopics,
    *,
    doc_type: str,
    version: int,
    payload: dict[str, Any],
    now: dt.datetime,
    validity: dt.timedelta,
    scope: Scope | None = None,
    topic: str | None = None,
) -> str:
    """Sign a document for `scope` (the fleet by default) and queue it; returns its topic (the
    document type's topic in that scope unless `topic` names another, e.g. a snapshot part's)."""
    scope = scope or Scope.fleet()
    envelope = sign_envelope(
        key, doc_type=doc_type, scope=scope, version=version, issued_at=now, not_after=now + validity,
        payload=payload,
    )  # fmt: skip
    body = dumps(envelope)
    topic = topic or topics.document(doc_type, scope)
    queue_raw(conn, VERSION_LINES[doc_type], version, topic, body, retain=doc_type in RETAINED_DOCUMENTS, now=now)
    return topic


def queue_raw(
    conn: Connection, line: str, version: int, topic: str, payload: bytes, *, retain: bool, now: dt.datetime
) -> None:
    """Queue bytes as they are (a retained empty payload clears the topic at the broker)."""
    conn.execute(
        t.publications.insert().values(
            version_line=line, version=version, topic=topic, payload=payload, retain=retain, created_at=now
        )
    )


@dataclass(frozen=True)
class Publication:
    publication_id: int
    topic: str
    payload: bytes
    retain: bool


def unsent(conn: Connection, limit: int = 100) -> list[Publication]:
    """The oldest unsent publications, locked: one sender at a time keeps kiosks' version order."""
    c = t.publications.c
    rows = conn.execute(
        sa.select(c.publication_id, c.topic, c.payload, c.retain)
        .where(c.sent_at.is_(None))
        .order_by(c.publication_id)
        .limit(limit)
        .with_for_update()
    )
    return [Publication(int(r.publication_id), r.topic, bytes(r.payload), bool(r.retain)) for r in rows]


def mark_sent(conn: Connection, publication_id: int, at: dt.datetime) -> None:
    conn.execute(t.publications.update().where(t.publications.c.publication_id == publication_id).values(sent_at=at))
