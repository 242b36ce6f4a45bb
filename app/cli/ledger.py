"""`kiosk ledger rebuild`: move a corrupt ledger aside so the kiosk starts empty and resyncs from HQ.

HQ's records are the source of truth, so a ledger that fails its integrity check is not repaired
in place: it is kept (renamed `ledger.db.corrupt-<time>`, for recovering unsent events by hand)
and the kiosk starts with an empty one. The sync layer's record of accepted document versions is
moved aside with it; otherwise the retained rules, members and deny-list HQ redelivers on
reconnect would be taken as "already applied" and the new ledger would stay empty.
Run it with the kiosk stopped (`systemctl stop kiosk`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.config import LedgerConfig, load_config
from kiosk.ledger import Ledger


def rebuild(ledger: LedgerConfig) -> list[Path]:
    """Quarantine the ledger and the sync version store; return where they went."""
    return [Ledger.quarantine(path) for path in (ledger.ledger_file, ledger.sync_state_file) if path.exists()]


def _rebuild(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not args.yes:
        print(
            "this moves the ledger aside; the kiosk will resync from HQ. Stop the kiosk, then repeat with --yes",
            file=sys.stderr,
        )
        return 2
    moved = rebuild(config.ledger)
    if not moved:
        print(f"nothing to do: no {config.ledger.ledger_file}")
        return 0
    for path in moved:
        print(f"moved aside: {path}")
    print(
        "start the kiosk: it creates an empty ledger and resyncs rules, members and the deny-list "
        "from HQ (offline it has no members until HQ is reachable)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    ledger = subparsers.add_parser("ledger", help="ledger maintenance")
    actions = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    rebuild_parser = actions.add_parser("rebuild", help="move a corrupt ledger aside and resync from HQ")
    rebuild_parser.add_argument("--yes", action="store_true", help="really do it (the kiosk must be stopped)")
    rebuild_parser.set_defaults(handler=_rebuild)
