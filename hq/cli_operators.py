"""`kiosk-hq operator add|disable|list`: named accounts for HQ's HTTP API, from HQ's shell.

    kiosk-hq operator add anna --role store --store S01   prints anna's token, once
    kiosk-hq operator add audit --role viewer             reads everything, changes nothing
    kiosk-hq operator add li --role admin
    kiosk-hq operator disable anna                         her token is refused from now on
    kiosk-hq operator list

HQ keeps the SHA-256 of each token; what a role may do is in hq/service/operators.py.
"""

from __future__ import annotations

import argparse
import sys

from hq.config import HqSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    from hq.service.operators import ROLES

    operator = sub.add_parser("operator", help="named operator accounts for the HTTP API").add_subparsers(
        dest="operator_command", required=True
    )
    add = operator.add_parser("add", help="create an account and print its token (once)")
    add.add_argument("name", help="the name every audited change records")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--store", help="the store a `store` operator acts for")
    disable = operator.add_parser("disable", help="refuse an operator's token from now on")
    disable.add_argument("name")
    operator.add_parser("list", help="every account with its role, store and state")


def run(settings: HqSettings, args: argparse.Namespace) -> int:
    from hq.runtime import ZoneClock
    from hq.service import operators
    from hq.service.errors import HqServiceError
    from hq.service.vouchers import token_digest
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate

    engine = open_engine(settings.database)
    migrate(engine)
    now = ZoneClock(settings.tz).now()
    try:
        with engine.begin() as conn:
            if args.operator_command == "add":
                token = operators.new_operator_token()
                operators.add_operator(conn, args.name, args.role, args.store, token_digest(token), now)
                print(token)
                where = f" of store {args.store}" if args.store else ""
                print(f"operator {args.name} ({args.role}{where}): keep this token; HQ cannot show it again",
                      file=sys.stderr)  # fmt: skip
            elif args.operator_command == "disable":
                operators.disable_operator(conn, args.name, now)
                print(
                    f"operator {args.name}: the token is refused from now on; `operator add` gives the name a new one"
                )
            else:
                for row in operators.operators(conn):
                    state = f"disabled {row['disabled_at']:%Y-%m-%d}" if row["disabled_at"] else "enabled"
                    print(f"{row['name']}\t{row['role']}\t{row['store_id'] or '-'}\t{state}")
    except HqServiceError as exc:
        print(f"kiosk-hq: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    return EXIT_OK
