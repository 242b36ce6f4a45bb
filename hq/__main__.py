"""`python -m hq`: the same as the `kiosk-hq` command."""

from hq.cli import main

raise SystemExit(main())
