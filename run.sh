#!/usr/bin/env bash
# First command of the README: set everything up, then run the kiosk.
# With the shipped config.yaml this is the simulation: emulated reader, demo members, offline.
# The demo members come from HQ: `kiosk-hq demo` puts a year of purchases through HQ's points
# engine (hq.yaml, SQLite under var/hq) and writes HQ's signed documents to var/demo, which the
# simulated kiosk imports into its empty ledger with the same checks as documents from the broker.
# With a display it opens a window (keys 1-9 tap demo cards, the mouse is the finger);
# without one it plays the scripted scenario and writes a PNG of every screen to out/scenario/.
# Extra arguments go to `kiosk run` (e.g. --headless, --out DIR, --config PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/setup.sh
if [ ! -f var/demo/members.json ]; then
    .venv/bin/kiosk keys init >/dev/null          # the simulation's throw-away keys, HQ's included
    # HQ registers the simulated kiosk's voucher key (device and store as in config.yaml) and signs
    # the key directory; it also makes a till for the cashier's page (var/demo/till-*.token).
    .venv/bin/kiosk-hq --config hq.yaml --log-level WARNING demo --out var/demo \
        --kiosk kiosk-sim-01:store-0001:var/keys/voucher_signing.pub.pem
fi
exec .venv/bin/kiosk run "$@"
