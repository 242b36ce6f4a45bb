"""Handlers of `kiosk hq ...` (argparse lives in app/cli/hq.py; the logic is here).

Each handler takes the parsed arguments and returns an exit status: 0 ok, 1 failed, 2 unusable
input (bad file, bad key), like the rest of the `kiosk` command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import threading
import uuid
from pathlib import Path
from typing import Any

import yaml

from sync.canonical import canonical_bytes
from sync.commands import sign_command
from sync.envelope import key_id
from sync.errors import EncodingError, SyncError
from sync.hq.fleet import collect_fleet, format_table
from sync.hq.listener import HqListener
from sync.hq.publisher import build_payload, publish_envelope, sign_next
from sync.hq.store import HqStore
from sync.keys import generate_keypair, load_private_key
from sync.mqtt_client import ConnectionSettings, MqttClient, TlsSettings
from sync.schemas import dumps
from sync.topics import HqTopics, Scope

_LOG = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PASSWORD_ENV = "KIOSK_HQ_PASSWORD"


def _tls(args: argparse.Namespace) -> TlsSettings | None:
    if not args.ca:
        return None
    return TlsSettings(
        Path(args.ca), Path(args.cert) if args.cert else None, Path(args.cert_key) if args.cert_key else None
    )


def connection(args: argparse.Namespace, client_id: str) -> ConnectionSettings:
    return ConnectionSettings(
        client_id=client_id,
        host=args.host,
        port=args.port,
        tls=_tls(args),
        username=args.username,
        password=os.environ.get(PASSWORD_ENV),
        reconnect_min_s=1,
        reconnect_max_s=30,
    )


def _scope(args: argparse.Namespace) -> Scope:
    if getattr(args, "device", None):
        return Scope.device(args.device)
    if getattr(args, "store", None):
        return Scope.store(args.store)
    return Scope.fleet()


def _read_data(path: Path) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        return yaml.safe_load(text)
    return json.loads(text)


def keygen(args: argparse.Namespace) -> int:
    try:
        key = generate_keypair(Path(args.private), Path(args.public), overwrite=args.force)
    except SyncError as exc:
        print(f"error: {exc}")
        return EXIT_FAILED
    print(f"private key: {args.private} (keep it at HQ, mode 0600)")
    print(f"public key:  {args.public} (install on every kiosk; key_id {key_id(key.public_key())})")
    return EXIT_OK


def _publish(args: argparse.Namespace, doc_type: str) -> int:
    try:
        key = load_private_key(Path(args.signing_key))
        data = _read_data(Path(args.file))
    except (SyncError, OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    store = HqStore(Path(args.db))
    try:
        base = store.last_version("denylist") if doc_type == "denylist_delta" else None
        payload = build_payload(doc_type, data, base_version=base)
        canonical_bytes(payload)  # refuse floats etc. before anything is signed
        now = dt.datetime.now(dt.UTC)
        envelope = sign_next(
            store,
            key,
            doc_type=doc_type,
            scope=_scope(args),
            payload=payload,
            now=now,
            validity=dt.timedelta(days=args.valid_days),
            version=args.version,
        )
    except (ValueError, EncodingError) as exc:
        print(f"error: {exc}")
        store.close()
        return EXIT_USAGE
    store.close()
    client = MqttClient(connection(args, args.client_id or f"hq-publish-{os.getpid()}"))
    client.start()
    try:
        if not client.wait_connected(args.timeout):
            print(f"error: cannot reach the broker at {args.host}:{args.port}")
            return EXIT_FAILED
        topic = publish_envelope(client, HqTopics(args.prefix), envelope, timeout=args.timeout)
    finally:
        client.stop()
    print(f"published {doc_type} version {envelope['version']} to {topic}")
    return EXIT_OK


def publish_rules(args: argparse.Namespace) -> int:
    return _publish(args, "rules")


def publish_members(args: argparse.Namespace) -> int:
    return _publish(args, "members_update" if args.update else "members")


def publish_denylist(args: argparse.Namespace) -> int:
    return _publish(args, "denylist_delta" if args.delta else "denylist")


def send_command(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(Path(args.signing_key))
        command = sign_command(
            key,
            command=args.command,
            command_id=f"c-{uuid.uuid4().hex}",
            scope=_scope(args),
            issued_at=dt.datetime.now(dt.UTC),
            lifetime=dt.timedelta(minutes=args.valid_minutes),
        )
    except (SyncError, ValueError) as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    client = MqttClient(connection(args, args.client_id or f"hq-command-{os.getpid()}"))
    client.start()
    try:
        if not client.wait_connected(args.timeout):
            print(f"error: cannot reach the broker at {args.host}:{args.port}")
            return EXIT_FAILED
        topic = HqTopics(args.prefix).command(_scope(args))
        # Never retained: a kiosk refuses a retained command (it would come back on every subscribe).
        client.publish_and_wait(topic, dumps(command), qos=1, retain=False, timeout=args.timeout)
    finally:
        client.stop()
    print(f"sent {args.command} ({command['id']}) to {topic}, valid until {command['not_after']}")
    return EXIT_OK


def listen(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(Path(args.signing_key))
    except SyncError as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    listener = HqListener(
        store_path=Path(args.db),
        signing_key=key,
        prefix=args.prefix,
        host=args.host,
        port=args.port,
        client_id=args.client_id or f"hq-listener-{os.getpid()}",
        tls=_tls(args),
        username=args.username,
        password=os.environ.get(PASSWORD_ENV),
        share_group=args.share_group,
    )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    listener.start()
    print(f"listening on {args.host}:{args.port} prefix {args.prefix}, storing in {args.db}", flush=True)
    done.wait(args.seconds if args.seconds else None)
    listener.stop()
    print(f"stored {listener.stored} new events, {listener.duplicates} duplicates")
    return EXIT_OK


def fleet(args: argparse.Namespace) -> int:
    try:
        rows = collect_fleet(
            connection(args, args.client_id or f"hq-fleet-{os.getpid()}"), HqTopics(args.prefix), wait_s=args.wait
        )
    except ConnectionError as exc:
        print(f"error: {exc}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], ensure_ascii=False))
    else:
        print(format_table(rows))
    return EXIT_OK
