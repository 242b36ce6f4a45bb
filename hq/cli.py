"""`kiosk-hq` / `python -m hq`: HQ's own command line (a kiosk device has none of these).

    kiosk-hq serve   --config hq.yaml      run the service until SIGTERM/SIGINT
    kiosk-hq migrate --config hq.yaml      bring the database schema up to date and exit
    kiosk-hq program --config hq.yaml FILE add a programme version (JSON or YAML) and exit
    kiosk-hq reevaluate --config hq.yaml   re-evaluate tiers (downgrade programmes), e.g. from cron
    kiosk-hq openapi                       print the HTTP API's OpenAPI description (docs/hq-openapi.json)
    kiosk-hq demo --config hq.yaml         load the demo data set; write HQ's signed documents for ./run.sh
    kiosk-hq till add | device add-key | device revoke-key    tills and kiosk voucher keys (hq.cli_vouchers)
    kiosk-hq member set-pin | unlock-pin                     the service desk's PIN tasks (hq.cli_members)
    kiosk-hq publish-snapshot              queue the full member snapshot now (hq.cli_snapshots)
    kiosk-hq operator add | disable | list  named operator accounts for the HTTP API (hq.cli_operators)
    kiosk-hq wheel audit [--since D] [--json]  the prize wheel's fairness and stock audit (hq.cli_wheel)

Exit status: 0 ok, 1 failed, 2 unusable input (config, file) with one line saying why.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

import yaml

from hq import cli_members, cli_operators, cli_snapshots, cli_vouchers, cli_wheel
from hq.config import HqSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-hq", description="HQ: the authority behind the kiosk fleet")
    parser.add_argument("--config", default="hq.yaml", help="HQ's config file (default hq.yaml)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="run HQ: listen to kiosks, feed them back, serve the HTTP API")
    serve.add_argument("--seconds", type=float, default=0, help="stop after this long (0 = until a signal)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("openapi", help="print the HTTP API's OpenAPI description (JSON) and exit")
    demo = sub.add_parser("demo", help="load the demo data set and write HQ's signed documents for the simulation")
    demo.add_argument("--out", type=Path, default=Path("var/demo"), help="folder for rules.json and members.json")
    demo.add_argument(
        "--kiosk", action="append", default=[], metavar="DEVICE:STORE:PUBLIC_KEY_PEM",
        help="register a kiosk's voucher public key (the simulation's: see run.sh); repeatable",
    )  # fmt: skip
    sub.add_parser("reevaluate", help="re-evaluate every member's tier now (downgrade programmes; run from cron)")
    program = sub.add_parser("program", help="add a programme version from a JSON/YAML file")
    program.add_argument("file", type=Path)
    program.add_argument("--by", default="kiosk-hq program", help="who adds it (kept with the version)")
    cli_vouchers.register(sub)
    cli_members.register(sub)
    cli_snapshots.register(sub)
    cli_operators.register(sub)
    cli_wheel.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "openapi":
        print(json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True))
        return EXIT_OK
    from hq.config import HqConfigError, load_settings
    from sync.errors import SyncError

    try:
        settings = load_settings(Path(args.config))
    except HqConfigError as exc:
        print(f"kiosk-hq: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "migrate":
        from hq.store.engine import open_engine
        from hq.store.migrations import migrate

        applied = migrate(open_engine(settings.database))
        print(f"schema up to date (applied now: {applied or 'nothing'})")
        return EXIT_OK
    if args.command == "reevaluate":
        from hq.runtime import ZoneClock
        from hq.service.jobs import reevaluate_tiers
        from hq.store.engine import open_engine
        from hq.store.migrations import migrate

        engine = open_engine(settings.database)
        migrate(engine)
        moved = reevaluate_tiers(engine, ZoneClock(settings.tz).now())
        print(f"re-evaluated: {moved} member(s) changed tier; the running HQ tells the kiosks")
        return EXIT_OK
    if args.command == "program":
        return _add_program(settings, args.file, args.by)
    if args.command == "demo":
        return _demo(settings, args.out, args.kiosk)
    if args.command in ("till", "device"):
        return cli_vouchers.run(settings, args)
    if args.command == "member":
        return cli_members.run(settings, args)
    if args.command == "publish-snapshot":
        return cli_snapshots.run(settings, args)
    if args.command == "operator":
        return cli_operators.run(settings, args)
    if args.command == "wheel":
        return cli_wheel.run(settings, args)
    from hq.runtime import HqRuntime

    try:
        runtime = HqRuntime(settings)
    except (SyncError, OSError) as exc:
        print(f"kiosk-hq: cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    runtime.start()
    print(f"HQ serving; HTTP on {settings.http.host}:{runtime.http_port}", flush=True)
    done.wait(args.seconds or None)
    runtime.stop()
    return EXIT_OK


def _demo(settings: HqSettings, out: Path, kiosks: list[str]) -> int:
    from hq.cli_vouchers import public_key_b64
    from hq.demo import DemoKiosk, build_demo, demo_till_token, export_documents, register_demo_kiosks
    from hq.runtime import ZoneClock
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate
    from sync.errors import SyncError
    from sync.keys import load_private_key
    from sync.topics import HqTopics

    try:
        key = load_private_key(settings.signing_key)
        demo_kiosks = []
        for spec in kiosks:
            device_id, store_id, pem = spec.split(":", 2)
            demo_kiosks.append(DemoKiosk(device_id, store_id, public_key_b64(Path(pem))))
    except (SyncError, OSError, ValueError) as exc:
        print(f"kiosk-hq: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_engine(settings.database)
    migrate(engine)
    topics = HqTopics(settings.mqtt.topic_prefix, settings.mqtt.share_group)
    now = ZoneClock(settings.tz).now()
    build_demo(engine, key, topics, now)
    register_demo_kiosks(engine, demo_kiosks, now)
    version = export_documents(engine, key, topics, out, now)
    for store_id in sorted({k.store_id for k in demo_kiosks}):
        token = demo_till_token(engine, store_id, now)
        if token is not None:
            # The demo's own till, for the cashier's page (/till) when HQ serves: never do this with a real one.
            path = out / f"till-{store_id}-T1.token"
            path.write_text(token + "\n", encoding="utf-8")
            path.chmod(0o600)
    print(f"demo loaded at HQ; signed rules and members (version {version}) written to {out}")
    return EXIT_OK


def openapi_document() -> dict:
    """The API's description, from the routes themselves (no database needed to describe them)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hq.api.app import create_app
    from hq.runtime import ZoneClock
    from hq.store.engine import open_engine
    from sync.topics import HqTopics

    app = create_app(
        open_engine("sqlite+pysqlite:///:memory:"),
        clock=ZoneClock(),
        signing_key=Ed25519PrivateKey.generate(),
        topics=HqTopics("kiosk/v1"),
        operator_token="unused",
    )
    return app.openapi()


def _add_program(settings: HqSettings, path: Path, by: str) -> int:
    from hq.domain.errors import HqDomainError
    from hq.runtime import ZoneClock
    from hq.service.programs import add_program
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate
    from sync.keys import load_private_key
    from sync.topics import HqTopics

    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        key = load_private_key(settings.signing_key)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"kiosk-hq: {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_engine(settings.database)
    migrate(engine)
    try:
        with engine.begin() as conn:
            program = add_program(
                conn,
                document,
                key=key,
                topics=HqTopics(settings.mqtt.topic_prefix, settings.mqtt.share_group),
                now=ZoneClock(settings.tz).now(),
                by=by,
            )
    except HqDomainError as exc:
        print(f"kiosk-hq: {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"programme version {program.version} added; the running HQ publishes it to the fleet")
    return EXIT_OK
