"""HQ's programme versions: stored, the latest in force, its kiosk part published to the fleet.

A new version never changes what an earlier one decided: every entry records the version that
decided it. Publishing the kiosk part goes through the same publications outbox as member updates
(`hq.service.feedback`), as a retained `rules` document, with the programme's version as the
document version, so a kiosk's rules version names the programme that HQ applies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from hq.domain.program import Program, parse_program
from hq.service.errors import NoProgram
from hq.service.publications import queue_signed
from hq.store import tables as t
from sync.topics import HqTopics

RULES_VALIDITY = dt.timedelta(days=365)


def current_program(conn: Connection) -> Program:
    row = conn.execute(sa.select(t.programs).order_by(t.programs.c.version.desc()).limit(1)).first()
    if row is None:
        raise NoProgram("no programme has been set up at HQ yet (POST /v1/programs)")
    return parse_program(int(row.version), row.document)


def program_of(conn: Connection, version: int) -> Program | None:
    """Programme `version` as HQ stored it; None when HQ has no such version."""
    row = conn.execute(sa.select(t.programs).where(t.programs.c.version == version)).first()
    return parse_program(int(row.version), row.document) if row is not None else None


def add_program(
    conn: Connection,
    document: Any,
    *,
    key: Ed25519PrivateKey,
    topics: HqTopics,
    now: dt.datetime,
    by: str,
) -> Program:
    """Validate and store the next programme version; queue its kiosk part for the fleet."""
    # The rules line's row lock orders concurrent additions; its number is the programme version.
    row = conn.execute(
        sa.select(t.published_versions.c.version)
        .where(t.published_versions.c.version_line == "rules")
        .with_for_update()
    ).one()
    version = int(row.version) + 1
    program = parse_program(version, document)  # raises InvalidProgram naming the field
    conn.execute(
        t.published_versions.update().where(t.published_versions.c.version_line == "rules").values(version=version)
    )
    conn.execute(t.programs.insert().values(version=version, document=program.document, created_at=now, created_by=by))
    queue_signed(
        conn, key, topics, doc_type="rules", version=version, payload={"document": program.kiosk_document},
        now=now, validity=RULES_VALIDITY,
    )  # fmt: skip
    return program
