"""Signing and publishing HQ documents: rules + catalog, member snapshots, deny-lists and deltas.

Versions come from HQ's store (`published_versions`), one line per document type with deltas on
the deny-list's line, so every publication is strictly newer than the last one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import sign_envelope
from sync.hq.store import HqStore
from sync.inbound import VERSION_LINES
from sync.mqtt_client import MqttClient
from sync.schemas import dumps
from sync.topics import RETAINED_DOCUMENTS, HqTopics, Scope


def build_payload(doc_type: str, data: Any, *, base_version: int | None = None) -> dict[str, Any]:
    """Turn the content of an input file into the payload the contract expects for `doc_type`."""
    if doc_type == "rules":
        if not isinstance(data, dict):
            raise ValueError("rules file must hold one object (tiers and rewards catalog)")
        return {"document": data}
    if doc_type in ("members", "members_update"):
        if isinstance(data, list):
            return {"members": data, "acknowledged_event_ids": []}
        if isinstance(data, dict) and isinstance(data.get("members"), list):
            return {"members": data["members"], "acknowledged_event_ids": list(data.get("acknowledged_event_ids", []))}
        raise ValueError("members file must hold a list, or {members: [...], acknowledged_event_ids: [...]}")
    if doc_type == "denylist":
        if isinstance(data, list):
            return {"entries": data}
        if isinstance(data, dict) and isinstance(data.get("entries"), list):
            return {"entries": data["entries"]}
        raise ValueError("deny-list file must hold a list, or {entries: [...]}")
    if doc_type == "denylist_delta":
        if not isinstance(data, dict):
            raise ValueError("delta file must hold {added: [...], removed: [...]}")
        base = data.get("base_version", base_version)
        if base is None:
            raise ValueError("delta needs a base_version")
        return {"base_version": base, "added": list(data.get("added", [])), "removed": list(data.get("removed", []))}
    raise ValueError(f"unknown document type {doc_type!r}")


def sign_next(
    store: HqStore,
    key: Ed25519PrivateKey,
    *,
    doc_type: str,
    scope: Scope,
    payload: dict[str, Any],
    now: dt.datetime,
    validity: dt.timedelta,
    version: int | None = None,
) -> dict[str, Any]:
    """Sign `payload` as the next version of its line and remember that version."""
    line = VERSION_LINES[doc_type]
    chosen = store.next_version(line, at_least=version)
    envelope = sign_envelope(
        key, doc_type=doc_type, scope=scope, version=chosen, issued_at=now, not_after=now + validity, payload=payload
    )
    store.record_published(line, chosen)
    return envelope


def publish_envelope(client: MqttClient, topics: HqTopics, envelope: dict[str, Any], timeout: float = 10.0) -> str:
    """Publish and wait for the broker's PUBACK; full documents are retained, deltas are not."""
    scope = Scope(envelope["scope"]["kind"], envelope["scope"].get("id"))
    topic = topics.document(envelope["type"], scope)
    client.publish_and_wait(
        topic, dumps(envelope), qos=1, retain=envelope["type"] in RETAINED_DOCUMENTS, timeout=timeout
    )
    return topic
