"""Subcommands of the `kiosk` CLI; each module exposes `register(subparsers)`.

Handlers receive the parsed argparse namespace (with `args.config`, the config path or None) and
return an exit status: 0 ok, 1 failed, 2 unusable input.
"""
