"""The console's rules page: a draft of the tier ladder and reward catalog over the programme in
force, validated by the code kiosks and HQ run, previewed on the kiosk's own screens, published as
the next programme version (hq.service.programs.add_program signs and queues it), and the
versions' history with a diff.

A draft is the programme in force with its `kiosk.tiers` and `kiosk.rewards` replaced by what the
operator typed (JSON); it lives in the page's form until published. Validation is
hq.domain.program.parse_program, which runs the kiosk's kiosk.ledger.rules.parse_rules on the
`kiosk` part, so a draft that passes here is one every kiosk accepts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.domain.errors import HqDomainError
from hq.domain.program import Program, parse_program
from hq.service.kiosk_entry import member_entries
from hq.store import tables as t

PREVIEW_TIMEOUT_S = 60.0
PREVIEW_MEMBERS_MAX = 4


@dataclass(frozen=True)
class Version:
    version: int
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class Draft:
    base_version: int
    document: dict[str, Any] | None  # the whole programme, when the JSON parsed
    program: Program | None  # when it is valid
    error: str | None


def versions(conn: Connection) -> list[Version]:
    p = t.programs.c
    return [
        Version(int(r.version), r.created_at, r.created_by)
        for r in conn.execute(sa.select(p.version, p.created_at, p.created_by).order_by(p.version.desc()))
    ]


def document(conn: Connection, version: int | None = None) -> tuple[int, dict[str, Any]] | None:
    """Programme `version` (the one in force when None) as stored."""
    p = t.programs.c
    query = sa.select(p.version, p.document)
    query = query.where(p.version == version) if version is not None else query.order_by(p.version.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else (int(row.version), dict(row.document))


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


def make_draft(base_version: int, base: dict[str, Any], tiers_text: str, rewards_text: str) -> Draft:
    """The base programme with the typed tier ladder and catalog, validated as the next version."""
    try:
        tiers = json.loads(tiers_text)
    except ValueError as exc:
        return Draft(base_version, None, None, f"tiers: not JSON: {exc}")
    try:
        rewards = json.loads(rewards_text)
    except ValueError as exc:
        return Draft(base_version, None, None, f"rewards: not JSON: {exc}")
    doc = json.loads(json.dumps(base))  # a deep copy
    if not isinstance(doc.get("kiosk"), dict):
        return Draft(base_version, None, None, "the programme in force has no kiosk part")
    doc["kiosk"]["tiers"] = tiers
    doc["kiosk"]["rewards"] = rewards
    try:
        program = parse_program(base_version + 1, doc)
    except HqDomainError as exc:
        return Draft(base_version, doc, None, str(exc))
    return Draft(base_version, doc, program, None)


def diff(old: dict[str, Any] | None, new: dict[str, Any], old_label: str, new_label: str) -> list[str]:
    """A unified diff of two programme documents, pretty-printed with their keys sorted (the
    database may keep them in another order than the operator typed)."""

    def lines(doc: dict[str, Any]) -> list[str]:
        return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).splitlines()

    before = lines(old) if old is not None else []
    return list(difflib.unified_diff(before, lines(new), old_label, new_label, lineterm="", n=2))


def sample_entries(conn: Connection, member_ids: list[str]) -> list[dict[str, Any]]:
    """HQ's member entries (what kiosks receive) for the preview; by default a member of each tier."""
    ids = [m for m in member_ids if m][:PREVIEW_MEMBERS_MAX]
    if not ids:
        m = t.members.c
        seen: dict[str, str] = {}
        for member_id, tier in conn.execute(sa.select(m.member_id, m.tier).order_by(m.spend_fen.desc(), m.member_id)):
            seen.setdefault(tier, member_id)
        ids = sorted(seen.values())[:PREVIEW_MEMBERS_MAX]
    return [e for e in member_entries(conn, ids) if not e.get("deleted")]


def preview(
    program: Program, entries: list[dict[str, Any]], *, now: dt.datetime, tz: str, locales: list[str]
) -> dict[str, Any]:
    """Run hq.console.preview_worker in a child process: {"images": [...]} or {"error": text}."""
    request = {
        "version": program.version,
        "rules": program.kiosk_document,
        "members": entries,
        "locales": locales,
        "now": now.isoformat(),
        "tz": tz,
    }
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hq.console.preview_worker"],
            input=json.dumps(request, ensure_ascii=False).encode(),
            capture_output=True,
            timeout=PREVIEW_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the preview took longer than {PREVIEW_TIMEOUT_S:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.decode(errors="replace")[-2000:] or f"exit status {done.returncode}"}
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return {"error": "the preview worker answered no JSON: " + done.stderr.decode(errors="replace")[-500:]}
    return answer
