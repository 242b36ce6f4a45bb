#!/usr/bin/env bash
# Idempotent development set-up, shared by ./run.sh and ./test.sh (and so by .ci/run):
#   1. Debian packages the project needs (python3-venv, mosquitto, postgresql for HQ's tests and
#      benchmarks, a CJK font, libzbar0, chromium for the cashier's-page browser tests, debootstrap,
#      proot and apt-utils for the Debian package's install/upgrade test in a Bookworm root),
#      installed with apt-get only when missing (as root, or through sudo when it is passwordless);
#   2. a virtual environment in .venv with the project installed editable plus its dev extras,
#      reinstalled only when pyproject.toml changed.
# Re-running it is cheap and safe.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KIOSK_VENV:-$ROOT/.venv}"
APT_PACKAGES=(python3-venv python3-dev mosquitto postgresql fonts-wqy-microhei libzbar0 shellcheck systemd chromium
    debootstrap proot apt-utils)

log() { printf '[setup] %s\n' "$*" >&2; }

missing_packages() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$pkg"
    done
}

install_apt_packages() {
    command -v dpkg-query >/dev/null || { log "not a Debian system: install ${APT_PACKAGES[*]} by hand"; return 0; }
    mapfile -t missing < <(missing_packages)
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            log "missing Debian packages: ${missing[*]}"
            log "run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
            exit 1
        fi
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
    local candidate
    for candidate in "${KIOSK_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    log "Python 3.11 or newer with the venv module is required"; exit 1
}

install_venv() {
    local stamp="$VENV/.kiosk-installed" want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local python; python="$(pick_python)"
        log "creating virtual environment $VENV with $python"
        "$python" -m venv "$VENV"
    fi
    log "installing the kiosk and its development tools into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
    printf '%s' "$want" > "$stamp"
}

install_apt_packages
install_venv
