"""HQ's voucher key directory: kiosks' public voucher keys, signed for kiosks and tills.

An operator registers a kiosk's public key with its store (`kiosk-hq device add-key`) and revokes
it after a theft. Every change queues a new signed `voucher_keys` document on the fleet's retained
topic (the publications outbox); `signed_directory` is what `GET /v1/voucher-keys` hands a till.
HQ itself verifies vouchers through `directory` (kiosk.ledger.voucher_keys), as every till does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.service.errors import HqServiceError, NotFound
from hq.service.feedback import next_version
from hq.service.publications import queue_signed
from hq.store import tables as t
from kiosk.ledger.voucher_keys import DirectoryEntry, VoucherKeyDirectory, public_key_from_b64
from sync.topics import HqTopics

#: Kiosks and tills keep using a directory this long after it was signed (HQ re-signs on change).
DIRECTORY_VALIDITY = dt.timedelta(days=30)


class KeyConflict(HqServiceError):
    code = "key_conflict"
    status = 409


def device_store(conn: Connection, device_id: str) -> str | None:
    """A kiosk's store: from its registered voucher key, else from its last status."""
    found = conn.execute(
        sa.select(t.voucher_keys.c.store_id).where(t.voucher_keys.c.device_id == device_id).limit(1)
    ).scalar()
    if found is None:
        found = conn.execute(sa.select(t.devices.c.store_id).where(t.devices.c.device_id == device_id)).scalar()
    return found


def _entry(row: Any) -> DirectoryEntry:
    return DirectoryEntry(
        device_id=row.device_id,
        store_id=row.store_id,
        public_key=public_key_from_b64(row.public_key),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
        reason=row.reason,
    )


def directory(conn: Connection, *, device_id: str | None = None) -> VoucherKeyDirectory:
    """Every key, or (to verify one voucher) only the issuing device's."""
    k = t.voucher_keys.c
    query = sa.select(t.voucher_keys).order_by(k.device_id, k.added_at)
    if device_id is not None:
        query = query.where(k.device_id == device_id)
    return VoucherKeyDirectory(_entry(row) for row in conn.execute(query))


def add_key(
    conn: Connection, device_id: str, store_id: str, public_key_b64: str, *, valid_from: dt.datetime, now: dt.datetime
) -> bool:
    """Register a kiosk's voucher key; False when exactly this key is registered already."""
    public_key_from_b64(public_key_b64)  # refuse garbage before it is signed into the directory
    k = t.voucher_keys.c
    existing = conn.execute(
        sa.select(t.voucher_keys).where(k.device_id == device_id, k.public_key == public_key_b64)
    ).first()
    if existing is not None:
        if existing.store_id != store_id:
            raise KeyConflict(f"this key is registered for {device_id} in store {existing.store_id}")
        if existing.revoked_at is not None:
            raise KeyConflict(f"this key of {device_id} was revoked; a revoked key is never trusted again")
        return False
    conn.execute(
        t.voucher_keys.insert().values(
            device_id=device_id, public_key=public_key_b64, store_id=store_id, valid_from=valid_from, added_at=now
        )
    )
    return True


def revoke(conn: Connection, device_id: str, reason: str, *, public_key_b64: str | None, now: dt.datetime) -> int:
    """Revoke the device's keys (all, or the one named); returns how many were revoked now."""
    k = t.voucher_keys.c
    where = [k.device_id == device_id]
    if public_key_b64 is not None:
        where.append(k.public_key == public_key_b64)
    if conn.execute(sa.select(sa.func.count()).select_from(t.voucher_keys).where(*where)).scalar() == 0:
        raise NotFound(f"no voucher key registered for device {device_id}")
    done = conn.execute(
        t.voucher_keys.update().where(*where, k.revoked_at.is_(None)).values(revoked_at=now, reason=reason[:500])
    )
    return int(done.rowcount)


def queue_directory(conn: Connection, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime) -> int:
    """Sign the current directory as the next `voucher_keys` version and queue it for the fleet."""
    version = next_version(conn, "voucher_keys")
    queue_signed(
        conn, key, topics, doc_type="voucher_keys", version=version, payload=directory(conn).as_payload(), now=now,
        validity=DIRECTORY_VALIDITY,
    )  # fmt: skip
    return version


def signed_directory(conn: Connection) -> dict[str, Any] | None:
    """The newest signed directory as queued (what kiosks got), for tills; None before the first."""
    p = t.publications.c
    payload = conn.execute(
        sa.select(p.payload).where(p.version_line == "voucher_keys").order_by(p.version.desc()).limit(1)
    ).scalar()
    return None if payload is None else json.loads(bytes(payload))


def fresh_signed_directory(
    conn: Connection, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime
) -> dict[str, Any]:
    """The newest signed directory, re-signed first when none exists or half its validity is gone
    (a till refuses an expired one, and nothing else may have changed for weeks)."""
    newest = signed_directory(conn)
    if newest is not None:
        issued = dt.datetime.fromisoformat(newest["issued_at"])
        if now - issued < DIRECTORY_VALIDITY / 2:
            return newest
    queue_directory(conn, key, topics, now)
    signed = signed_directory(conn)
    assert signed is not None
    return signed
