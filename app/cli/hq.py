"""`kiosk hq ...`: the reference HQ tool (keys, signed pushes, event listener, fleet status).

Only the command line is defined here; the logic lives in `sync/hq/` and is imported when a
subcommand runs, so `kiosk --help` stays fast and the domain never imports sync at module level.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from sync.hq import cli  # wiring: the HQ tool is sync-side code

        return getattr(cli, name)(args)

    return run


def _broker_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("broker")
    group.add_argument("--host", default="127.0.0.1", help="MQTT broker host (default 127.0.0.1)")
    group.add_argument("--port", type=int, default=1883, help="MQTT broker port (default 1883)")
    group.add_argument("--prefix", default="kiosk/v1", help="topic prefix (default kiosk/v1)")
    group.add_argument("--ca", help="CA certificate (PEM) to verify the broker; enables TLS")
    group.add_argument("--cert", help="HQ client certificate (PEM)")
    group.add_argument("--cert-key", help="key of the HQ client certificate (PEM)")
    group.add_argument("--username", help="broker username (password from $KIOSK_HQ_PASSWORD)")
    group.add_argument("--client-id", help="MQTT client id (default: derived from the command)")
    group.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker")


def _publish_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="JSON or YAML file with the document")
    parser.add_argument("--signing-key", default="hq_signing.key", help="HQ's Ed25519 private key")
    parser.add_argument("--db", default="hq.sqlite", help="HQ database (remembers versions)")
    parser.add_argument("--version", type=int, help="explicit version (default: last + 1)")
    parser.add_argument("--valid-days", type=float, default=30.0, help="not_after = now + this")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--store", help="address one store (default: whole fleet)")
    scope.add_argument("--device", help="address one kiosk (default: whole fleet)")
    _broker_options(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    hq = subparsers.add_parser("hq", help="reference HQ tool: keys, signed pushes, events, fleet")
    sub = hq.add_subparsers(dest="hq_command", metavar="HQ_COMMAND", required=True)

    keygen = sub.add_parser("keygen", help="generate HQ's Ed25519 signing key pair")
    keygen.add_argument("--private", default="hq_signing.key", help="private key file (0600)")
    keygen.add_argument("--public", default="hq_signing.pub", help="public key file for kiosks")
    keygen.add_argument("--force", action="store_true", help="overwrite existing files")
    keygen.set_defaults(handler=_handler("keygen"))

    rules = sub.add_parser("publish-rules", help="sign and publish tier rules + rewards catalog")
    _publish_options(rules)
    rules.set_defaults(handler=_handler("publish_rules"))

    members = sub.add_parser("publish-members", help="sign and publish a member snapshot or update")
    _publish_options(members)
    members.add_argument(
        "--update", action="store_true", help="only the listed members change (not retained); default: full snapshot"
    )
    members.set_defaults(handler=_handler("publish_members"))

    deny = sub.add_parser("publish-denylist", help="sign and publish the deny-list (or a delta)")
    _publish_options(deny)
    deny.add_argument(
        "--delta", action="store_true", help="FILE holds {added, removed}; based on the last published version"
    )
    deny.set_defaults(handler=_handler("publish_denylist"))

    command = sub.add_parser("send-command", help="sign and send a one-shot command (resync, request_telemetry)")
    command.add_argument("command", choices=("resync", "request_telemetry"), help="what the kiosks should do")
    command.add_argument("--signing-key", default="hq_signing.key", help="HQ's Ed25519 private key")
    command.add_argument("--valid-minutes", type=float, default=10.0, help="refused by kiosks after this (max 60)")
    target = command.add_mutually_exclusive_group()
    target.add_argument("--store", help="address one store (default: whole fleet)")
    target.add_argument("--device", help="address one kiosk (default: whole fleet)")
    _broker_options(command)
    command.set_defaults(handler=_handler("send_command"))

    listen = sub.add_parser("listen", help="store kiosk events once, acknowledge them (signed acks)")
    listen.add_argument("--signing-key", default="hq_signing.key", help="HQ's Ed25519 private key (signs acks)")
    listen.add_argument("--db", default="hq.sqlite", help="HQ database")
    listen.add_argument("--share-group", default="hq", help="shared-subscription group")
    listen.add_argument("--seconds", type=float, default=0, help="stop after this long (0 = never)")
    _broker_options(listen)
    listen.set_defaults(handler=_handler("listen"))

    fleet = sub.add_parser("fleet", help="show which kiosks are online, versions, outbox depth")
    fleet.add_argument("--wait", type=float, default=2.0, help="seconds to collect retained state")
    fleet.add_argument("--json", action="store_true", help="JSON instead of a table")
    _broker_options(fleet)
    fleet.set_defaults(handler=_handler("fleet"))
