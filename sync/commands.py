"""Commands from HQ (docs/mqtt.md "command"), signed like documents and applied at most once.

A command changes what the kiosk does right now (resend its outbox, resubscribe), so it gets the
same end-to-end signature as a document, under its own context, plus the rules of a one-shot
order: an id that is applied at most once (`sync.state.VersionStore.claim_command`), a short life
(`not_after` at most `MAX_LIFETIME` after `issued_at`, refused once past it), and never from a
retained message, because the broker hands a retained message to every new subscription and a
`resync` resubscribes: that loop ran 405 times in 15 s before commands had ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import EnvelopeVerifier, parse_scope
from sync.errors import PayloadError, PushRejected, TopicError
from sync.ids import check_id
from sync.schemas import SCHEMA_VERSION, iso, parse_object, parse_time, require
from sync.signing import sign_object
from sync.topics import Scope

COMMAND_CONTEXT = b"kiosk-hq-command/v1\n"
COMMANDS = ("resync", "request_telemetry")
MAX_COMMAND_BYTES = 4096
MAX_LIFETIME = dt.timedelta(hours=1)


@dataclass(frozen=True)
class VerifiedCommand:
    id: str
    command: str
    scope: Scope
    issued_at: dt.datetime
    not_after: dt.datetime


def sign_command(
    private_key: Ed25519PrivateKey,
    *,
    command: str,
    command_id: str,
    scope: Scope,
    issued_at: dt.datetime,
    lifetime: dt.timedelta = dt.timedelta(minutes=10),
) -> dict[str, Any]:
    if lifetime > MAX_LIFETIME or lifetime <= dt.timedelta(0):
        raise ValueError(f"a command lives between 0 and {MAX_LIFETIME}")
    unsigned = {
        "v": SCHEMA_VERSION,
        "type": "command",
        "scope": scope.as_json(),
        "id": check_id(command_id, "command id"),
        "command": command,
        "issued_at": iso(issued_at),
        "not_after": iso(issued_at + lifetime),
    }
    return sign_object(private_key, COMMAND_CONTEXT, unsigned)


def verify_command(
    raw: bytes, *, retained: bool, verifier: EnvelopeVerifier, topic_scope: Scope, now: dt.datetime
) -> VerifiedCommand:
    """A genuine, fresh, non-retained command for this kiosk; `PushRejected` with the reason otherwise.

    Whether its id was already applied is the caller's question (it needs the kiosk's state).
    """
    if retained:
        raise PushRejected("retained", "commands are never taken from retained messages")
    if len(raw) > MAX_COMMAND_BYTES:
        raise PushRejected("oversized", f"command of {len(raw)} bytes > {MAX_COMMAND_BYTES}")
    try:
        obj = parse_object(raw)
        if require(obj, "type", str) != "command":
            raise PayloadError("type is not command")
        scope = parse_scope(obj.get("scope"))
        command_id = require(obj, "id", str)
        check_id(command_id, "command id")
        name = require(obj, "command", str)
        issued_at = parse_time(obj.get("issued_at"), "issued_at")
        not_after = parse_time(obj.get("not_after"), "not_after")
    except (PayloadError, TopicError) as exc:
        raise PushRejected("malformed", str(exc)) from None
    verifier.keys.check(COMMAND_CONTEXT, obj)
    verifier.check_scope(scope, topic_scope)
    if not_after - issued_at > MAX_LIFETIME:
        raise PushRejected("too_long_lived", f"valid {not_after - issued_at}, at most {MAX_LIFETIME}")
    verifier.check_time(issued_at, not_after, now)
    if name not in COMMANDS:
        raise PushRejected("unknown_command", name)
    return VerifiedCommand(command_id, name, scope, issued_at, not_after)
