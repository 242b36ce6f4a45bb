"""Handling of signed HQ documents on the kiosk: verify, check the version, apply, say what happened.

`PushHandler.handle` never raises for anything a sender can do: every outcome, good or bad, is a
`PushOutcome` that the link publishes as a `push_ack` (docs/mqtt.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sync.envelope import EnvelopeVerifier, VerifiedPush
from sync.errors import PushRejected
from sync.ports import Clock, DocumentAppliers
from sync.snapshot_parts import PartCollector
from sync.state import VersionStore
from sync.topics import Scope

_LOG = logging.getLogger(__name__)

DEFAULT_MAX_PUSH_BYTES = 4 * 1024 * 1024
#: Deltas move the deny-list's version line; they never have a line of their own.
VERSION_LINES = {
    "rules": "rules",
    "members": "members",
    "members_update": "members",
    "members_part": "members",
    "denylist": "denylist",
    "denylist_delta": "denylist",
    "voucher_keys": "voucher_keys",
}


@dataclass(frozen=True)
class PushOutcome:
    doc_type: str | None
    version: int | None
    status: str  # applied | current | rejected
    reason: str | None = None
    detail: str | None = None


class PushHandler:
    def __init__(
        self,
        *,
        verifier: EnvelopeVerifier,
        versions: VersionStore,
        ledger: DocumentAppliers,
        clock: Clock,
        max_bytes: int = DEFAULT_MAX_PUSH_BYTES,
    ) -> None:
        self._verifier = verifier
        self._versions = versions
        self._ledger = ledger
        self._clock = clock
        self._max_bytes = max_bytes
        self._ledger_versions: dict[str, Callable[[], int | None]] = {
            "rules": ledger.rules_version,
            "members": ledger.member_snapshot_version,
            "denylist": ledger.denylist_version,
            "voucher_keys": ledger.voucher_keys_version,
        }
        self._parts = PartCollector(
            versions=versions, ledger=ledger, clock=clock, current_version=lambda: self.current_version("members")
        )

    def current_version(self, version_line: str) -> int:
        accepted = self._versions.get(version_line)
        from_ledger = int(self._ledger_versions[version_line]() or 0)
        return max(accepted.version if accepted else 0, from_ledger)

    def handle(self, doc_type: str, topic_scope: Scope, raw: bytes, *, part: int | None = None) -> PushOutcome:
        """`part`: the number in a `members-part/{n}` topic (the signed part must name the same)."""
        version: int | None = None
        try:
            if len(raw) > self._max_bytes:
                raise PushRejected("oversized", f"{len(raw)} bytes > {self._max_bytes}")
            push = self._verifier.verify(raw, expected_type=doc_type, topic_scope=topic_scope, now=self._clock.now())
            version = push.version
            if push.doc_type == "members_part":
                status, detail = self._parts.take(push, part)
                return PushOutcome(push.doc_type, push.version, status, None, detail)
            return self._apply_if_newer(push)
        except PushRejected as exc:
            # DEBUG here: the router logs refusals at WARNING within its answer budget, so a flood
            # of forgeries cannot fill the journal.
            _LOG.debug("rejected %s push (version %s): %s", doc_type, version, exc)
            return PushOutcome(doc_type, version, "rejected", exc.reason, exc.detail)
        except Exception as exc:  # noqa: BLE001 - a push must never take the link down
            _LOG.exception("applying %s version %s failed", doc_type, version)
            return PushOutcome(doc_type, version, "rejected", "apply_failed", f"{type(exc).__name__}: {exc}")

    def _apply_if_newer(self, push: VerifiedPush) -> PushOutcome:
        line = VERSION_LINES[push.doc_type]
        current = self.current_version(line)
        if push.version < current:
            raise PushRejected("not_newer", f"version {push.version} < accepted {current}")
        if push.version == current:
            accepted = self._versions.get(line)
            if accepted and accepted.version == push.version and accepted.digest != push.digest:
                raise PushRejected("version_conflict", f"version {push.version} was accepted with other content")
            # Retained documents come back on every reconnect: not an error, nothing to do.
            return PushOutcome(push.doc_type, push.version, "current")
        self._apply(push, current)
        self._versions.record(line, push.version, push.digest, push.scope.topic_part, self._clock.now())
        _LOG.info("applied %s version %d (%s)", push.doc_type, push.version, push.scope.topic_part)
        return PushOutcome(push.doc_type, push.version, "applied")

    def _apply(self, push: VerifiedPush, current: int) -> None:
        body = push.payload
        try:
            if push.doc_type == "rules":
                self._ledger.apply_rules(push.version, body["document"])
            elif push.doc_type in ("members", "members_update"):
                # A snapshot replaces every member; an update touches only those it lists.
                self._ledger.apply_member_snapshot(
                    push.version, body["members"], body["acknowledged_event_ids"], full=push.doc_type == "members"
                )
            elif push.doc_type == "denylist":
                self._ledger.apply_denylist_full(push.version, body["entries"], push.issued_at)
            elif push.doc_type == "denylist_delta":
                if body["base_version"] != current:
                    raise PushRejected("base_mismatch", f"delta on {body['base_version']}, kiosk has {current}")
                self._ledger.apply_denylist_delta(
                    push.version, body["base_version"], body["added"], body["removed"], push.issued_at
                )
            elif push.doc_type == "voucher_keys":
                self._ledger.apply_voucher_keys(push.version, body)
        except PushRejected:
            raise
        except ValueError as exc:
            raise PushRejected("invalid_payload", str(exc)) from None
