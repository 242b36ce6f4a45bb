#!/usr/bin/env bash
# First command of the README: set everything up, then run the kiosk.
# With the shipped config.yaml this is the simulation: emulated reader, demo members, offline.
# With a display it opens a window (keys 1-9 tap demo cards, the mouse is the finger);
# without one it plays the scripted scenario and writes a PNG of every screen to out/scenario/.
# Extra arguments go to `kiosk run` (e.g. --headless, --out DIR, --config PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/setup.sh
exec .venv/bin/kiosk run "$@"
