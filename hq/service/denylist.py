"""HQ's deny-list policy: who gets blocked, by whom, and how an operator releases them.

- A **confirmed rollback** blocks the card automatically: a kiosk reported a card image older
  than one it had seen, and HQ's own record agrees (the presented counter is below the highest
  counter HQ knows for that card). Unconfirmed reports, clone signs and blocked cards presented
  again raise alarms for review instead.
- An operator blocks (e.g. a card reported lost) and releases, with their name and a note kept.

Changes reach the kiosks through the publications outbox (`prepare_denylist`, run by the
feedback pump): every change republishes the full list (retained, so every kiosk converges), and
a release also sends a delta naming the card first, because only an explicit removal lifts the
local denial a kiosk made itself when it saw the rollback (kiosk/ledger/cards.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError, NotFound
from hq.service.feedback import next_version
from hq.service.publications import queue_signed
from hq.store import tables as t
from hq.store.upsert import upsert
from sync.topics import HqTopics

DENYLIST_VALIDITY = dt.timedelta(days=30)


def block(conn: Connection, uid: str, reason: str, *, source: str, ref: str, now: dt.datetime) -> bool:
    """Block `uid` (hex); False if it was blocked already."""
    uid = uid.lower()
    current = conn.execute(sa.select(t.denylist.c.status).where(t.denylist.c.uid == uid)).scalar()
    if current == "blocked":
        return False
    upsert(
        conn,
        t.denylist,
        {
            "uid": uid,
            "reason": reason,
            "source": source,
            "status": "blocked",
            "ref": ref[:120],
            "blocked_at": now,
            "released_at": None,
            "released_by": None,
            "note": None,
        },  # fmt: skip
        ["uid"],
        ["reason", "source", "status", "ref", "blocked_at", "released_at", "released_by", "note"],
    )
    conn.execute(t.denylist_changes.insert().values(uid=uid, action="block", at=now))
    return True


def release(conn: Connection, uid: str, *, by: str, note: str, now: dt.datetime) -> None:
    """An operator lifts a block after review; who and why stay on the entry."""
    if not by or not note:
        raise HqServiceError("a release names who reviewed it and why")
    uid = uid.lower()
    status = conn.execute(sa.select(t.denylist.c.status).where(t.denylist.c.uid == uid).with_for_update()).scalar()
    if status != "blocked":
        raise NotFound(f"card {uid} is not blocked")
    conn.execute(
        t.denylist.update()
        .where(t.denylist.c.uid == uid)
        .values(status="released", released_at=now, released_by=by, note=note)
    )
    conn.execute(t.denylist_changes.insert().values(uid=uid, action="release", at=now))


def confirm_rollback(conn: Connection, uid: str, card_counter: int | None, ref: str, now: dt.datetime) -> bool:
    """Block automatically when HQ's record confirms the rollback; True if it did."""
    known = conn.execute(sa.select(t.cards.c.last_counter).where(t.cards.c.uid == uid.lower())).scalar()
    if card_counter is None or known is None or card_counter >= int(known):
        return False
    block(conn, uid, "rollback", source="auto", ref=ref, now=now)
    return True


def entries(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(t.denylist.c.uid, t.denylist.c.reason)
        .where(t.denylist.c.status == "blocked")
        .order_by(t.denylist.c.uid)
    )
    return [{"uid": uid, "reason": reason} for uid, reason in rows]


def prepare_denylist(conn: Connection, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime) -> int | None:
    """Queue the signed documents for unpublished deny-list changes; the full list's version, or None."""
    c = t.denylist_changes.c
    if not conn.execute(sa.select(c.change_id).where(c.published_version.is_(None)).limit(1)).first():
        return None
    base = int(conn.execute(
        sa.select(t.published_versions.c.version).where(t.published_versions.c.version_line == "denylist")
    ).scalar_one())  # fmt: skip
    changes = conn.execute(sa.select(c.change_id, c.uid, c.action).where(c.published_version.is_(None))).all()
    released = sorted({uid for _, uid, action in changes if action == "release"})
    if released:
        version = next_version(conn, "denylist")
        queue_signed(
            conn, key, topics, doc_type="denylist_delta", version=version, now=now, validity=DENYLIST_VALIDITY,
            payload={"base_version": base, "added": [], "removed": released},
        )  # fmt: skip
    version = next_version(conn, "denylist")
    queue_signed(
        conn, key, topics, doc_type="denylist", version=version, now=now, validity=DENYLIST_VALIDITY,
        payload={"entries": entries(conn)},
    )  # fmt: skip
    conn.execute(
        t.denylist_changes.update().where(c.change_id.in_([r[0] for r in changes])).values(published_version=version)
    )
    return version
