#!/usr/bin/env bash
# Second command of the README: set everything up, then run the whole test suite.
# Real parts: a Mosquitto started by the tests on a free loopback port, real SQLite, real pygame
# (SDL dummy video driver), the reader code against the register-level MFRC522 emulator.
# Extra arguments go to pytest (e.g. -k ledger, -m "not slow"); the tests run in parallel, one
# pytest-xdist worker per CPU (-n auto; a later -n 4 or -n 0 for a serial run overrides it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/setup.sh
# Lint, format and type checks first (seconds): a failure here stops the run before pytest.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
export SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
exec .venv/bin/python -m pytest -n auto "$@"
