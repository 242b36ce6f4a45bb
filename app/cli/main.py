"""The `kiosk` command line: run the kiosk, check the config, and the staff/HQ tools.

Exit status: 0 success, 1 a check or operation failed, 2 the configuration or the command line is
unusable (so systemd and scripts can tell a provisioning mistake from a runtime fault).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli import card, doctor, hq, keys, ledger, voucher
from app.version import software_version
from kiosk.config import CheckedConfig, ConfigError, check_config_file

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Modules under app/cli/ that add their own subcommands via `register(subparsers)`.
COMMAND_MODULES = (keys, voucher, card, doctor, hq, ledger)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=argparse.SUPPRESS,
        help="path to config.yaml (default: $KIOSK_CONFIG or ./config.yaml)",
    )


def _add_config_everywhere(parser: argparse.ArgumentParser) -> None:
    """Let `--config` stand before or after any subcommand, however deeply nested."""
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any("--config" in a.option_strings for a in sub._actions):
                    _add_config_option(sub)
                _add_config_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Membership-card kiosk")
    _add_config_option(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {software_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run the kiosk (simulation with the shipped config)")
    run.add_argument(
        "--headless", action="store_true", help="no window: play the scripted scenario and write a PNG of every screen"
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("out/scenario"),
        help="folder for the headless scenario's PNGs (default: out/scenario)",
    )
    run.set_defaults(handler=_run)

    check = sub.add_parser("check-config", help="validate config.yaml and print the effective (redacted) settings")
    check.add_argument("path", nargs="?", help="config file (default: --config, $KIOSK_CONFIG or ./config.yaml)")
    check.set_defaults(handler=_check_config)

    for module in COMMAND_MODULES:
        module.register(sub)

    _add_config_everywhere(parser)
    return parser


def _config_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None)


def _checked_config(path: str | None) -> CheckedConfig:
    """The config with every file it names checked; its warnings go to stderr, beside any problems."""
    checked = check_config_file(path)
    for warning in checked.warnings:
        print(warning, file=sys.stderr)
    return checked


def _check_config(args: argparse.Namespace) -> int:
    config = _checked_config(args.path or _config_path(args)).config
    print(f"{config.source}: OK")
    print(json.dumps(config.redacted(), ensure_ascii=False, indent=2))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from app.runtime import run_kiosk  # pygame and friends load only for `run`

    config = _checked_config(_config_path(args)).config
    return run_kiosk(config, headless=args.headless, out_dir=args.out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    try:
        return int(args.handler(args) or EXIT_OK)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in the configuration", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
