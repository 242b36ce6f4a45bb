"""`kiosk-hq member set-pin|unlock-pin`: the service desk's PIN tasks from HQ's shell (the same use
cases as `PUT /v1/members/{id}/pin` and `POST /v1/members/{id}/pin/unlock`).

    echo 2580 | kiosk-hq member set-pin M0001 --by desk-anna    the PIN comes on stdin, never in argv
    kiosk-hq member unlock-pin M0001 --by desk-anna

The PIN is read from standard input so it never shows in `ps` or the shell's history. A running HQ
sends the new hash (or the lifted lock) to every kiosk with the next member update.
"""

from __future__ import annotations

import argparse
import sys

from hq.config import HqSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    member = sub.add_parser("member", help="the service desk's PIN tasks").add_subparsers(
        dest="member_command", required=True
    )
    set_pin = member.add_parser("set-pin", help="set a member's PIN (read from stdin; lifts a lock)")
    set_pin.add_argument("member_id")
    set_pin.add_argument("--by", required=True, help="who sets it, for the audit entry")
    unlock = member.add_parser("unlock-pin", help="lift a member's PIN lock after checking who they are")
    unlock.add_argument("member_id")
    unlock.add_argument("--by", required=True, help="who lifts it, for the audit entry")


def run(settings: HqSettings, args: argparse.Namespace) -> int:
    from hq.runtime import ZoneClock
    from hq.service import pins
    from hq.service.errors import HqServiceError
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate

    engine = open_engine(settings.database)
    migrate(engine)
    now = ZoneClock(settings.tz).now()
    try:
        with engine.begin() as conn:
            if args.member_command == "set-pin":
                pin = sys.stdin.readline().strip()
                pins.set_pin(conn, args.member_id, pin, by=args.by, now=now)
                print(f"PIN of {args.member_id} set; kiosks get its hash with the next member update")
            elif pins.unlock(conn, args.member_id, by=args.by, now=now):
                print(f"PIN lock of {args.member_id} lifted")
            else:
                print(f"{args.member_id} was not locked")
    except HqServiceError as exc:
        print(f"kiosk-hq: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    return EXIT_OK
