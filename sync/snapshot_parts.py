"""A full member snapshot in parts: collected on disk, applied only once every part is here.

HQ splits a snapshot too large for one document (the kiosk's `max_push_bytes`) into parts, each
its own signed envelope of type `members_part` on a retained topic `{p}/hq/{scope}/members-part/{n}`
(docs/mqtt.md "Member snapshots in parts"). Every part carries the snapshot's `first_version`, its
own number `part` and the count `parts`; its envelope `version` is `first_version + part`, so every
part has a version of its own on the `members` line and the set ends at `first_version + parts - 1`.

The kiosk keeps the parts of the newest set per scope in `sync-state.sqlite` (never more than one
set per scope) and applies the set when the last missing part arrives: one ledger transaction,
`full=True`, under the set's last version. Parts of two snapshots are never mixed (a set is keyed
by its first version) and a partial set is never applied. Members are read from disk part by part
while the ledger applies them, so memory holds one part, not the whole set.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from sync.envelope import VerifiedPush
from sync.errors import PushRejected
from sync.ports import Clock, DocumentAppliers
from sync.state import StagedPart, VersionStore

_LOG = logging.getLogger(__name__)

VERSION_LINE = "members"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class PartCollector:
    """Stages verified `members_part` envelopes and applies a complete set (runs on the sync worker)."""

    def __init__(
        self,
        *,
        versions: VersionStore,
        ledger: DocumentAppliers,
        clock: Clock,
        current_version: Callable[[], int],
    ) -> None:
        self._versions = versions
        self._ledger = ledger
        self._clock = clock
        self._current = current_version

    def take(self, push: VerifiedPush, topic_part: int | None) -> tuple[str, str | None]:
        """(status, detail) for one part: "applied" (held, or the set applied) or "current";
        raises PushRejected for a part that cannot be used."""
        body = push.payload
        first, part, parts = body["first_version"], body["part"], body["parts"]
        if topic_part is not None and topic_part != part:
            raise PushRejected("malformed", f"part {part} arrived on the topic of part {topic_part}")
        if push.version != first + part:
            raise PushRejected("malformed", f"part {part} of the snapshot from {first} has version {push.version}")
        last = first + parts - 1
        scope = push.scope.topic_part
        kept = self._versions.staged_part(scope, first, part)
        if kept is not None and (kept.digest != push.digest or kept.parts != parts):
            raise PushRejected("version_conflict", f"part {part} (version {push.version}) came with other content")
        if kept is not None and kept.applied:
            return "current", None  # the retained parts of the set applied last, after a reconnect
        current = self._current()
        if last <= current:
            raise PushRejected("not_newer", f"snapshot ending at version {last} <= accepted {current}")
        newest = self._versions.newest_staged(scope)
        if newest is not None and newest > first:
            raise PushRejected("not_newer", f"a newer snapshot (from version {newest}) is being collected")
        staged = self._versions.stage_part(
            scope, first, part, parts, push.digest, _json(body["members"]), _json(body["acknowledged_event_ids"]),
            self._clock.now(),
        )  # fmt: skip
        if any(p.parts != parts for p in staged):
            raise PushRejected("version_conflict", f"parts of the snapshot from version {first} disagree on the count")
        if len(staged) < parts:
            return "applied", f"part {part + 1} of {parts} held; the snapshot waits for {parts - len(staged)} more"
        self._apply(scope, first, last, staged)
        return "applied", f"snapshot of {parts} part(s) applied as version {last}"

    def _apply(self, scope: str, first: int, last: int, staged: list[StagedPart]) -> None:
        acknowledged: list[str] = []
        for p in staged:
            acknowledged.extend(json.loads(self._versions.part_bodies(scope, first, p.part)[1]))
        try:
            self._ledger.apply_member_snapshot(last, self._members(scope, first, staged), acknowledged, full=True)
        except ValueError as exc:
            raise PushRejected("invalid_payload", str(exc)) from None
        digest = hashlib.sha256("".join(p.digest for p in staged).encode()).hexdigest()
        self._versions.record(VERSION_LINE, last, digest, scope, self._clock.now())
        self._versions.parts_applied(scope, first)
        _LOG.info("applied the %s member snapshot of %d part(s) as version %d", scope, len(staged), last)

    def _members(self, scope: str, first: int, staged: list[StagedPart]) -> Iterator[Any]:
        for p in staged:
            yield from json.loads(self._versions.part_bodies(scope, first, p.part)[0])
