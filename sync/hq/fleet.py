"""`kiosk hq fleet`: which kiosks are online, their document versions and outbox depth.

Status and telemetry are retained, so a short-lived subscriber sees the whole fleet at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sync.errors import PayloadError, TopicError
from sync.mqtt_client import ConnectionSettings, Message, MqttClient
from sync.schemas import parse_status, parse_telemetry
from sync.topics import HqTopics


@dataclass
class FleetRow:
    device_id: str
    store_id: str = "?"
    state: str = "?"
    since: str = ""
    rules_version: int | None = None
    denylist_version: int | None = None
    members_version: int | None = None
    outbox_depth: int | None = None
    uptime_s: int | None = None


class FleetCollector:
    def __init__(self, topics: HqTopics) -> None:
        self._topics = topics
        self._rows: dict[str, FleetRow] = {}
        self._lock = threading.Lock()

    def on_message(self, message: Message) -> None:
        if not message.payload:
            return
        try:
            device_id, kind = self._topics.parse_kiosk(message.topic)
            with self._lock:
                row = self._rows.setdefault(device_id, FleetRow(device_id))
                if kind == "status":
                    status = parse_status(message.payload)
                    row.store_id, row.state, row.since = status.store_id, status.state, status.at.isoformat()
                elif kind == "telemetry":
                    body: dict[str, Any] = parse_telemetry(message.payload)
                    row.rules_version = body.get("rules_version")
                    row.denylist_version = body.get("denylist_version")
                    row.members_version = body.get("members_version")
                    row.outbox_depth = body.get("outbox_depth")
                    row.uptime_s = body.get("uptime_s")
        except (PayloadError, TopicError):
            return

    def rows(self) -> list[FleetRow]:
        with self._lock:
            return sorted(self._rows.values(), key=lambda r: r.device_id)


def collect_fleet(settings: ConnectionSettings, topics: HqTopics, wait_s: float = 2.0) -> list[FleetRow]:
    collector = FleetCollector(topics)
    client = MqttClient(
        ConnectionSettings(
            **{
                **settings.__dict__,
                "persistent_session": False,
                "subscriptions": [(topics.status_all, 1), (topics.telemetry_all, 0)],
            }
        ),
        on_message=collector.on_message,
    )
    client.start()
    try:
        if not client.wait_connected(10.0):
            raise ConnectionError(f"cannot reach the broker at {settings.host}:{settings.port}")
        time.sleep(wait_s)  # retained messages arrive right after SUBACK; give them a moment
    finally:
        client.stop()
    return collector.rows()


def format_table(rows: list[FleetRow]) -> str:
    header = ("DEVICE", "STORE", "STATE", "SINCE", "RULES", "DENY", "MEMBERS", "OUTBOX", "UPTIME")
    lines: list[tuple[str, ...]] = [header]
    for r in rows:
        lines.append(
            (
                r.device_id,
                r.store_id,
                r.state,
                r.since[:19],
                *(
                    "-" if v is None else str(v)
                    for v in (r.rules_version, r.denylist_version, r.members_version, r.outbox_depth, r.uptime_s)
                ),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
