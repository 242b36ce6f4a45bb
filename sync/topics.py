"""Topic names of the contract (docs/mqtt.md) and the parsing of topics that arrive.

Pure functions and small frozen objects: both the kiosk (`KioskTopics`) and HQ (`HqTopics`) build
their topics here, so the two sides cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.errors import TopicError
from sync.ids import check_id, check_prefix

#: Document type -> last topic level. Deltas get their own (non-retained) topic.
DOCUMENT_TOPICS: dict[str, str] = {
    "rules": "rules",
    "members": "members",
    "members_update": "members-update",
    "denylist": "denylist",
    "denylist_delta": "denylist-delta",
    "voucher_keys": "voucher-keys",
}
_TOPIC_DOCUMENTS = {level: doc for doc, level in DOCUMENT_TOPICS.items()}
#: Retained documents: the broker hands the latest to every (re)connecting kiosk.
RETAINED_DOCUMENTS = frozenset({"rules", "members", "members_part", "denylist", "voucher_keys"})
#: A full member snapshot too large for one document comes in numbered parts, each retained on
#: `{p}/hq/{scope}/members-part/{n}` (docs/mqtt.md "Member snapshots in parts").
MEMBER_PART_LEVEL = "members-part"
#: Parts one snapshot may have: bounds what a kiosk stages on disk (256 x 4 MiB at most).
MAX_SNAPSHOT_PARTS = 256

SCOPE_KINDS = ("fleet", "store", "device")


@dataclass(frozen=True)
class Scope:
    """Who a push is for: the whole fleet, one store, or one device."""

    kind: str
    id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise TopicError(f"scope kind {self.kind!r} is not one of {SCOPE_KINDS}")
        if self.kind == "fleet" and self.id is not None:
            raise TopicError("fleet scope has no id")
        if self.kind != "fleet":
            check_id(self.id or "", f"{self.kind} id")

    @property
    def topic_part(self) -> str:
        return "fleet" if self.kind == "fleet" else f"{self.kind}/{self.id}"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind} if self.id is None else {"kind": self.kind, "id": self.id}

    @classmethod
    def fleet(cls) -> Scope:
        return cls("fleet")

    @classmethod
    def store(cls, store_id: str) -> Scope:
        return cls("store", store_id)

    @classmethod
    def device(cls, device_id: str) -> Scope:
        return cls("device", device_id)


@dataclass(frozen=True)
class Inbound:
    """What a topic the kiosk received means: kind is "document", "cmd" or "ack"."""

    kind: str
    scope: Scope
    doc_type: str | None = None
    part: int | None = None  # the part number of a `members-part/{n}` topic


@dataclass(frozen=True)
class KioskTopics:
    """The topics one kiosk publishes to and subscribes to."""

    prefix: str
    device_id: str
    store_id: str

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        check_id(self.device_id, "device id")
        check_id(self.store_id, "store id")

    @property
    def _own(self) -> str:
        return f"{self.prefix}/kiosk/{self.device_id}"

    @property
    def status(self) -> str:
        return f"{self._own}/status"

    @property
    def events(self) -> str:
        return f"{self._own}/events"

    @property
    def telemetry(self) -> str:
        return f"{self._own}/telemetry"

    @property
    def push_ack(self) -> str:
        return f"{self._own}/push-ack"

    @property
    def ack(self) -> str:
        return f"{self.prefix}/hq/device/{self.device_id}/ack"

    def scopes(self) -> tuple[Scope, ...]:
        return (Scope.fleet(), Scope.store(self.store_id), Scope.device(self.device_id))

    def subscriptions(self) -> list[str]:
        """Filters the kiosk subscribes to: its three scopes; `device/{d}/#` includes its acks."""
        return [
            f"{self.prefix}/hq/fleet/#",
            f"{self.prefix}/hq/store/{self.store_id}/#",
            f"{self.prefix}/hq/device/{self.device_id}/#",
        ]

    def parse(self, topic: str) -> Inbound:
        """Classify an inbound topic; anything not in the contract raises `TopicError`."""
        head = f"{self.prefix}/hq/"
        if not topic.startswith(head):
            raise TopicError(f"topic {topic!r} is not under {head!r}")
        levels = topic[len(head) :].split("/")
        part: int | None = None
        if len(levels) >= 3 and levels[-2] == MEMBER_PART_LEVEL:
            part = _part_number(levels[-1], topic)
            levels = [*levels[:-2], MEMBER_PART_LEVEL]
        if levels[0] == "fleet" and len(levels) == 2:
            scope, last = Scope.fleet(), levels[1]
        elif levels[0] in ("store", "device") and len(levels) == 3:
            scope, last = Scope(levels[0], levels[1]), levels[2]
        else:
            raise TopicError(f"topic {topic!r} has an unexpected shape")
        if scope not in self.scopes():
            raise TopicError(f"topic {topic!r} is for another {scope.kind}")
        if part is not None:
            return Inbound("document", scope, "members_part", part)
        if last == "cmd":
            return Inbound("cmd", scope)
        if last == "ack":
            if scope.kind != "device":
                raise TopicError(f"acks only arrive on the device's own topic, not {topic!r}")
            return Inbound("ack", scope)
        if last in _TOPIC_DOCUMENTS:
            return Inbound("document", scope, _TOPIC_DOCUMENTS[last])
        raise TopicError(f"topic {topic!r}: unknown last level {last!r}")


def _part_number(level: str, topic: str) -> int:
    """`0`..`MAX_SNAPSHOT_PARTS - 1`, written without leading zeros (one topic per part)."""
    if not level.isascii() or not level.isdigit() or (len(level) > 1 and level[0] == "0"):
        raise TopicError(f"topic {topic!r}: part {level!r} is not a part number")
    number = int(level)
    if number >= MAX_SNAPSHOT_PARTS:
        raise TopicError(f"topic {topic!r}: part {number} is beyond the {MAX_SNAPSHOT_PARTS} a snapshot may have")
    return number


@dataclass(frozen=True)
class HqTopics:
    """The topics HQ publishes to and subscribes to."""

    prefix: str
    share_group: str = "hq"

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        check_id(self.share_group, "share group")

    def document(self, doc_type: str, scope: Scope) -> str:
        if doc_type not in DOCUMENT_TOPICS:
            raise TopicError(f"unknown document type {doc_type!r}")
        return f"{self.prefix}/hq/{scope.topic_part}/{DOCUMENT_TOPICS[doc_type]}"

    def member_part(self, scope: Scope, part: int) -> str:
        """The retained topic of part `part` of a member snapshot."""
        if not 0 <= part < MAX_SNAPSHOT_PARTS:
            raise TopicError(f"part {part} is not in 0..{MAX_SNAPSHOT_PARTS - 1}")
        return f"{self.prefix}/hq/{scope.topic_part}/{MEMBER_PART_LEVEL}/{part}"

    def command(self, scope: Scope) -> str:
        return f"{self.prefix}/hq/{scope.topic_part}/cmd"

    def ack(self, device_id: str) -> str:
        return f"{self.prefix}/hq/device/{check_id(device_id, 'device id')}/ack"

    @property
    def events_shared(self) -> str:
        return f"$share/{self.share_group}/{self.prefix}/kiosk/+/events"

    @property
    def push_acks_shared(self) -> str:
        return f"$share/{self.share_group}/{self.prefix}/kiosk/+/push-ack"

    @property
    def status_all(self) -> str:
        return f"{self.prefix}/kiosk/+/status"

    @property
    def telemetry_all(self) -> str:
        return f"{self.prefix}/kiosk/+/telemetry"

    def parse_kiosk(self, topic: str) -> tuple[str, str]:
        """`{p}/kiosk/{d}/{kind}` -> (device_id, kind); `TopicError` for anything else."""
        head = f"{self.prefix}/kiosk/"
        if not topic.startswith(head):
            raise TopicError(f"topic {topic!r} is not under {head!r}")
        levels = topic[len(head) :].split("/")
        if len(levels) != 2 or levels[1] not in ("status", "events", "telemetry", "push-ack"):
            raise TopicError(f"topic {topic!r} is not a kiosk topic of the contract")
        return check_id(levels[0], "device id"), levels[1]
