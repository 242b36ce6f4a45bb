"""`kiosk card personalize|inspect|wipe`: staff tools for membership cards.

The handlers are plain functions over a `CardTools` bundle (a selected card, the driver's fault
classes, the ledger), so tests run them against emulated cards. The CLI gets its bundle from
`app.card_tools.card_tools(config, timeout_s)`, a context manager that waits for a card on the
configured reader (or an emulated one in simulation). Key material comes from
`security.card_master_key` and is never printed or logged.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from app.card_tools import CardTools, card_tools
from kiosk.cards.errors import CardSecurityError
from kiosk.cards.inspect import inspect_card
from kiosk.cards.keyfile import load_master_keys
from kiosk.cards.personalize import personalize
from kiosk.cards.wipe import wipe
from kiosk.config import load_config

_LOG = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def personalize_command(tools: CardTools, member_id: str, issue_no: int, out: TextIO = sys.stdout) -> int:
    """Personalize the presented blank card for `member_id` and register it in the ledger."""
    if tools.ledger is not None and not tools.ledger.member_exists(member_id):
        print(f"no member {member_id} in the local ledger; sync members first", file=out)
        return EXIT_FAILED
    try:
        record = personalize(tools.session, tools.keys, member_id, issue_no, tools.faults)
    except (CardSecurityError, ValueError) as exc:
        print(f"personalization failed: {exc}", file=out)
        return EXIT_FAILED
    except tools.faults.io as exc:
        print(
            f"card left or reader error during personalization ({type(exc).__name__}); "
            "present the card again and repeat the command: it resumes",
            file=out,
        )
        return EXIT_FAILED
    if tools.ledger is not None:
        tools.ledger.register_card(record.uid, record.member_id, record.issue_no)
    print(
        f"personalized card {record.uid.hex().upper()} for member {record.member_id}, issue {record.issue_no}", file=out
    )
    return EXIT_OK


def inspect_command(tools: CardTools, out: TextIO = sys.stdout) -> int:
    try:
        report = inspect_card(tools.session, tools.keys, tools.faults, tools.ledger)
    except tools.faults.io as exc:
        print(f"could not read the card ({type(exc).__name__}); present it again", file=out)
        return EXIT_FAILED
    for line in report.lines():
        print(line, file=out)
    return EXIT_OK


def wipe_command(tools: CardTools | None, confirmed: bool, out: TextIO = sys.stdout) -> int:
    if not confirmed:
        print("wipe erases the member record and resets every key; repeat with --yes", file=out)
        return EXIT_USAGE
    assert tools is not None  # a confirmed wipe always comes with the card tools opened
    try:
        report = wipe(tools.session, tools.keys, tools.faults)
    except CardSecurityError as exc:
        print(f"wipe failed: {exc}", file=out)
        return EXIT_FAILED
    except tools.faults.io as exc:
        print(f"card left during the wipe ({type(exc).__name__}); present it again and repeat", file=out)
        return EXIT_FAILED
    print(
        f"card {report.uid.hex().upper()} is back in transport state "
        f"({report.sectors_reset} sectors reset). Its ledger entry is unchanged.",
        file=out,
    )
    return EXIT_OK


def _with_tools(action: Callable[[CardTools, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        config = load_config(args.config)
        if config.simulation.enabled and config.simulation.generate_keys:
            from app.key_files import ensure_keys

            ensure_keys(config, simulation=True)  # as `kiosk run` does for the demo
        try:
            keys = load_master_keys(config.security.card_master_key)
        except CardSecurityError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        with card_tools(config, keys=keys, timeout_s=args.timeout) as tools:
            return action(tools, args)

    return handler


def register(subparsers: argparse._SubParsersAction) -> None:
    card = subparsers.add_parser("card", help="staff card tools: personalize, inspect, wipe")
    actions = card.add_subparsers(dest="card_command", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a card (default 20)")

    p = actions.add_parser("personalize", help="blank card (transport keys) -> member card")
    p.add_argument("--member", required=True, help="member id (1-16 of 0-9 A-Z a-z _ -)")
    p.add_argument("--issue", type=int, default=1, help="card issue number: 1 first card, 2 first replacement...")
    common(p)
    p.set_defaults(handler=_with_tools(lambda tools, a: personalize_command(tools, a.member, a.issue)))

    i = actions.add_parser("inspect", help="show what the card holds and whether it verifies")
    common(i)
    i.set_defaults(handler=_with_tools(lambda tools, a: inspect_command(tools)))

    w = actions.add_parser("wipe", help="return a card to transport state (staff only)")
    w.add_argument("--yes", action="store_true", help="really erase the card")
    common(w)
    wipe_with_tools = _with_tools(lambda tools, a: wipe_command(tools, a.yes))

    def wipe_handler(args: argparse.Namespace) -> int:
        if not args.yes:  # refuse before waiting for a card
            return wipe_command(None, False)
        return wipe_with_tools(args)

    w.set_defaults(handler=wipe_handler)
