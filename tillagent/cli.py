"""`kiosk-till`: the till agent's command line, for a POS and for the person looking after the till.

    kiosk-till --config till.yaml consume CODE --order O [--json]   write a voucher off for order O
    kiosk-till --config till.yaml lookup CODE [--json]              what HQ (or, offline, the agent) says
    kiosk-till --config till.yaml scan --order O [--json]           one code per line on stdin (a USB scanner)
    kiosk-till --config till.yaml replay                            send offline write-offs to HQ now
    kiosk-till --config till.yaml status [--json]                   pending entries, today's offline total
    kiosk-till --config till.yaml fetch-keys                        refresh the signed key directory
    kiosk-till --config till.yaml serve --port N                    local HTTP API on 127.0.0.1 (tillagent.server)
    kiosk-till --config till.yaml simulate-purchases --members M1,M2 --count N   a till simulator (demo)

Exit codes: 0 written off / ok, 1 refused (or HQ unreachable where HQ is needed), 2 unusable
configuration (till.yaml, the token, HQ's public key, the journal; or HQ refused the token).
`--json` prints one JSON object per answer on stdout; cashier-readable lines otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tillagent.agent import TillAgent
from tillagent.config import load_settings
from tillagent.errors import DirectoryProblem, HqUnreachable, TillConfigError
from tillagent.journal import JournalError
from tillagent.outcomes import Outcome, yuan
from tillagent.purchases import PurchasePlan, PurchaseSimulator
from tillagent.replay import TokenRefused

_LOG = logging.getLogger(__name__)
EXIT_OK, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 2
CONFIG_ENV = "KIOSK_TILL_CONFIG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-till", description="Write vouchers off at the till (核销).")
    parser.add_argument(
        "--config", type=Path, default=Path(os.environ.get(CONFIG_ENV, "till.yaml")),
        help=f"till.yaml (default: ${CONFIG_ENV} or ./till.yaml)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="JSON answers on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the agent does to stderr")
    # SUPPRESS: `--json` after the subcommand must not reset one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON answers on stdout")
    sub = parser.add_subparsers(dest="command", required=True)
    consume = sub.add_parser("consume", parents=[common], help="write a voucher off for an order")
    consume.add_argument("code", help="the QR code's text, or the 8-character short code")
    consume.add_argument("--order", required=True, help="the POS's order number")
    lookup = sub.add_parser("lookup", parents=[common], help="what a voucher's state is, before writing it off")
    lookup.add_argument("code")
    scan = sub.add_parser("scan", parents=[common], help="write off every code read from stdin (one per line)")
    scan.add_argument("--order", required=True)
    sub.add_parser("replay", parents=[common], help="send offline write-offs to HQ now")
    sub.add_parser("status", parents=[common], help="pending write-offs, today's offline total, the key directory")
    sub.add_parser("fetch-keys", parents=[common], help="fetch, verify and store HQ's signed key directory")
    serve = sub.add_parser("serve", parents=[common], help="the local HTTP API on 127.0.0.1")
    serve.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free port)")
    simulate = sub.add_parser(
        "simulate-purchases", parents=[common], help="report made-up purchases to HQ as this till (demo, tests)"
    )
    simulate.add_argument("--members", required=True, help="comma-separated member ids to buy for")
    simulate.add_argument("--count", type=int, default=10)
    simulate.add_argument("--per-s", type=float, default=1.0, help="purchases a second (0: as fast as answered)")
    simulate.add_argument("--min-fen", type=int, default=1_000)
    simulate.add_argument("--max-fen", type=int, default=50_000)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--run-id", default=None, help="part of every idempotency key (default: the time)")
    return parser


def _emit(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False) if args.json else text, flush=True)


def _exit_of(outcome: Outcome) -> int:
    if outcome.ok:
        return EXIT_OK
    return EXIT_CONFIG if outcome.error == "unauthorized" else EXIT_REFUSED


def _replay_after_online(agent: TillAgent) -> None:
    """HQ just answered: a good moment to send what waits (quietly; stdout is the POS's)."""
    report = agent.catch_up()
    if report.changed:
        print(f"kiosk-till: {report.line()}", file=sys.stderr, flush=True)


def cmd_simulate_purchases(agent: TillAgent, args: argparse.Namespace) -> int:
    settings = agent.settings
    simulator = PurchaseSimulator(agent.hq, till_id=settings.till_id, store_id=settings.store_id, clock=agent.now)
    run_id = args.run_id or agent.now().strftime("%Y%m%d%H%M%S")
    plan = PurchasePlan(
        members=[m for m in args.members.split(",") if m], count=args.count, min_fen=args.min_fen,
        max_fen=args.max_fen, per_s=args.per_s, seed=args.seed, run_id=run_id,
    )  # fmt: skip
    failed = 0
    try:
        for reported in simulator.run(plan):
            failed += not reported.ok
            text = f"{reported.idempotency_key}: {reported.member_id} {reported.amount_fen / 100:.2f} yuan -> " + (
                f"{reported.points} points, tier {reported.tier}" if reported.ok else f"REFUSED {reported.error}"
            )
            _emit(args, text, asdict(reported))
    except ValueError as exc:
        print(f"kiosk-till: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 1 if failed else 0


def cmd_consume(agent: TillAgent, args: argparse.Namespace) -> int:
    outcome = agent.consume(args.code, args.order)
    _emit(args, outcome.line(), outcome.as_json())
    if outcome.mode == "online":
        _replay_after_online(agent)
    return _exit_of(outcome)


def cmd_lookup(agent: TillAgent, args: argparse.Namespace) -> int:
    found = agent.lookup(args.code)
    _emit(args, found.line(), found.as_json())
    if found.source == "hq":
        _replay_after_online(agent)
    if found.verdict == "unauthorized":
        return EXIT_CONFIG
    return EXIT_OK if found.ok else EXIT_REFUSED


def cmd_scan(agent: TillAgent, args: argparse.Namespace) -> int:
    _replay_after_online(agent)  # at the start of the session: whatever HQ is up to
    refused = 0
    # A USB scanner is a keyboard: it types the code and Enter, so every line is one scan.
    for line in sys.stdin:
        code = line.strip()
        if not code:
            continue
        outcome = agent.consume(code, args.order)
        _emit(args, outcome.line(), outcome.as_json())
        if outcome.mode == "online":
            _replay_after_online(agent)
        refused += not outcome.ok
    return EXIT_OK if refused == 0 else EXIT_REFUSED


def cmd_replay(agent: TillAgent, args: argparse.Namespace) -> int:
    report = agent.replay()
    _emit(args, report.line(), report.as_json())
    return EXIT_OK if report.stopped is None else EXIT_REFUSED


def _status_text(status: dict[str, Any]) -> str:
    d = status["directory"]
    keys = (
        f"version {d['version']}, {d['keys']} keys, valid until {d['not_after']}"
        if d["usable"]
        else f"NOT USABLE: {d['problem']}"
    )
    lines = [
        f"till {status['till_id']} of store {status['store_id']}, HQ {status['hq_url']}",
        f"offline today ({status['day']}): {yuan(status['offline_today_fen'])} of the "
        f"{yuan(status['offline_daily_cap_fen'])} cap; at most {yuan(status['offline_max_value_fen'])} a voucher",
        f"key directory: {keys}",
        f"pending replay: {len(status['pending'])}",
        *(
            f"  {e['accepted_at']}  {e['voucher_id']}  order {e['order_no']}  {yuan(e['value_fen'])}"
            for e in status["pending"]
        ),
        f"in doubt: {len(status['in_doubt'])}",
        *(
            f"  {e['accepted_at']}  {e['short_code']}  order {e['order_no']}: {e['message']}"
            for e in status["in_doubt"]
        ),
    ]
    return "\n".join(lines)


def cmd_status(agent: TillAgent, args: argparse.Namespace) -> int:
    status = agent.status()
    _emit(args, _status_text(status), status)
    return EXIT_OK


def cmd_fetch_keys(agent: TillAgent, args: argparse.Namespace) -> int:
    try:
        trusted = agent.fetch_keys()
    except TokenRefused as exc:
        print(f"kiosk-till: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (HqUnreachable, DirectoryProblem) as exc:
        print(f"kiosk-till: key directory not updated: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    data = {"version": trusted.version, "keys": len(trusted.keys), "not_after": trusted.not_after.isoformat()}
    _emit(args, f"key directory version {trusted.version}: {len(trusted.keys)} keys, valid until "
                f"{trusted.not_after.isoformat()}", data)  # fmt: skip
    report = agent.replay()
    if report.changed:
        print(f"kiosk-till: {report.line()}", file=sys.stderr, flush=True)
    return EXIT_OK


def cmd_serve(agent: TillAgent, args: argparse.Namespace) -> int:
    from tillagent.server import serve

    return serve(agent, args.port)


COMMANDS: dict[str, Callable[[TillAgent, argparse.Namespace], int]] = {
    "consume": cmd_consume,
    "lookup": cmd_lookup,
    "scan": cmd_scan,
    "replay": cmd_replay,
    "status": cmd_status,
    "fetch-keys": cmd_fetch_keys,
    "serve": cmd_serve,
    "simulate-purchases": cmd_simulate_purchases,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        agent = TillAgent.open(load_settings(args.config), args.config)
    except (TillConfigError, JournalError) as exc:
        print(f"kiosk-till: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return COMMANDS[args.command](agent, args)
    except KeyboardInterrupt:
        return 130
    finally:
        agent.close()
