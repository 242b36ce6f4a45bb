"""Home Assistant MQTT discovery: retained configs that make a kiosk appear in a store's Home Assistant.

Follows HA's MQTT discovery conventions (home-assistant.io/integrations/mqtt/, "MQTT Discovery";
sensor.mqtt and binary_sensor.mqtt for the options): one retained JSON config per entity on
``<prefix>/<component>/<node_id>/<object_id>/config``, node_id = the device id, each with a
``unique_id``, the same ``device`` block (so HA groups them under one device) and an ``origin``.

Nothing new is published for the states: every entity reads a topic the kiosk already keeps
retained for HQ (docs/mqtt.md). Availability is the ``status`` topic, whose ``state`` is
``online`` on connect and ``offline`` as the broker-published last will; the figures come from the
retained ``telemetry`` message through ``value_template``s. The templates read these telemetry
fields, which the app's telemetry source fills (app/kiosk_app.py): ``outbox_depth``,
``reader.state``, ``extra.link_state``, ``extra.offline_mode``, ``extra.last_tap_at``,
``extra.clock.trusted``, ``extra.software`` and ``extra.package``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sync.schemas import dumps
from sync.topics import KioskTopics

DEFAULT_PREFIX = "homeassistant"
#: HA's discovery topic levels allow only these characters in node_id and object_id.
_ID_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
#: Values of telemetry's extra.link_state (app/kiosk_app.py), the HQ link sensor's enum options.
LINK_STATES = ("online", "hq_unreachable", "disconnected", "disabled")
MODEL = "Membership-card kiosk (Raspberry Pi, MFRC522)"
ORIGIN = "membership-kiosk"


@dataclass(frozen=True)
class Entity:
    component: str  # "sensor" or "binary_sensor"
    object_id: str
    name: str
    options: dict[str, Any]


#: The entities, in the order HA lists them on the device page. `options` are HA's, state-side only.
ENTITIES = (
    Entity(
        "binary_sensor",
        "reader",
        "Card reader",
        {
            "device_class": "problem",
            "value_template": "{{ 'OFF' if value_json.reader.state == 'ok' else 'ON' }}",
        },
    ),
    Entity(
        "sensor",
        "hq_link",
        "HQ link",
        {
            "device_class": "enum",
            "options": list(LINK_STATES),
            "value_template": "{{ value_json.extra.link_state }}",
        },
    ),
    Entity(
        "binary_sensor",
        "offline_mode",
        "Offline mode",
        {"value_template": "{{ 'ON' if value_json.extra.offline_mode else 'OFF' }}", "icon": "mdi:cloud-off-outline"},
    ),
    Entity(
        "sensor",
        "outbox_depth",
        "Outbox",
        {
            "state_class": "measurement",
            "unit_of_measurement": "events",
            "value_template": "{{ value_json.outbox_depth }}",
            "icon": "mdi:tray-full",
        },
    ),
    Entity(
        "sensor",
        "last_tap",
        "Last card tap",
        # "None" is HA's word for "no value" (state unknown) before the first tap since start.
        {"device_class": "timestamp", "value_template": "{{ value_json.extra.last_tap_at or None }}"},
    ),
    Entity(
        "binary_sensor",
        "clock",
        "Clock",
        {
            "device_class": "problem",
            "entity_category": "diagnostic",
            "value_template": "{{ 'OFF' if value_json.extra.clock.trusted else 'ON' }}",
        },
    ),
    Entity(
        "sensor",
        "software",
        "Software version",
        {
            "entity_category": "diagnostic",
            "value_template": "{{ value_json.extra.software }}",
            "json_attributes_template": "{{ value_json.extra.package | tojson }}",
            "icon": "mdi:package-variant",
        },
    ),
)


def discovery_messages(
    topics: KioskTopics,
    *,
    display_name: str,
    software_version: str,
    prefix: str = DEFAULT_PREFIX,
) -> list[tuple[str, bytes]]:
    """(topic, payload) for every entity's retained config; the payloads are HA's full (unabbreviated) keys."""
    node_id = topics.device_id
    if not _ID_CHARS.match(node_id):
        raise ValueError(f"device id {node_id!r} cannot be a Home Assistant node_id (only A-Z a-z 0-9 _ -)")
    device = {
        "identifiers": [f"membership-kiosk-{node_id}"],
        "name": f"{display_name} {node_id}",
        "model": MODEL,
        "sw_version": software_version,
        "suggested_area": display_name,
    }
    availability = [
        {
            "topic": topics.status,
            "value_template": "{{ value_json.state }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]
    messages = []
    for entity in ENTITIES:
        config: dict[str, Any] = {
            "name": entity.name,
            "unique_id": f"kiosk_{node_id}_{entity.object_id}",
            "state_topic": topics.telemetry,
            "availability": availability,
            "device": device,
            "origin": {"name": ORIGIN, "sw_version": software_version},
            **entity.options,
        }
        if "json_attributes_template" in config:
            config["json_attributes_topic"] = topics.telemetry
        messages.append((f"{prefix}/{entity.component}/{node_id}/{entity.object_id}/config", dumps(config)))
    return messages
