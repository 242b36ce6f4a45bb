"""What HQ's listener needs from a store: the reference SQLite (`sync.hq.store.HqStore`) or the HQ
service's database (`hq.service.listener_store`). One listener, any storage behind it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync.acks import AckedEvent
from sync.schemas import EventMessage, PushAck


@dataclass
class BatchResult:
    new: list[EventMessage] = field(default_factory=list)
    duplicates: list[EventMessage] = field(default_factory=list)
    conflicts: list[EventMessage] = field(default_factory=list)

    def acknowledged_by_device(self) -> dict[str, list[AckedEvent]]:
        """Everything HQ now holds, per device: new, duplicates and conflicts alike."""
        result: dict[str, list[AckedEvent]] = {}
        for event in (*self.new, *self.duplicates, *self.conflicts):
            result.setdefault(event.device_id, []).append(AckedEvent(event.seq, event.event_id))
        return result


class ListenerStore(Protocol):
    def record_events(self, events: Iterable[EventMessage], received_at: dt.datetime) -> BatchResult:
        """Store each event once by (device_id, seq), in one transaction; acks go out after it."""
        ...

    def record_push_ack(self, ack: PushAck, received_at: dt.datetime) -> None: ...
    def device_store(self, device_id: str) -> str | None: ...
    def record_status(self, device_id: str, store_id: str, state: str, at: dt.datetime) -> None: ...
    def record_telemetry(self, device_id: str, body: dict[str, Any], at: dt.datetime) -> None: ...
    def gaps(self, device_id: str) -> int: ...
    def missing_seqs(self, device_id: str, limit: int = 10) -> list[tuple[int, int]]: ...
    def raise_alarm(self, kind: str, device_id: str, detail: str, at: dt.datetime) -> bool: ...
    def clear_alarm(self, kind: str, device_id: str, at: dt.datetime) -> bool: ...
    def close(self) -> None: ...
