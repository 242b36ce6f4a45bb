#!/usr/bin/env bash
# Install (or update) the membership-card kiosk on Raspberry Pi OS Bookworm.
#
#   sudo tools/install-pi.sh              # install, enable and start kiosk.service
#   tools/install-pi.sh --dry-run         # print every action, change nothing (no root needed)
#   tools/install-pi.sh --root DIR        # place files under DIR only, skip system commands
#                                         # (how CI checks the file-placing half without root)
#
# Safe to re-run: existing config.yaml, kiosk.env and keys are kept; the user, groups and unit are
# brought to the wanted state; the code and the venv are refreshed. See docs/operations.md.

set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=""
DRY_RUN=0
START=1
PREFIX=/opt/kiosk
CONF_DIR=/etc/kiosk
STATE_DIR=/var/lib/kiosk
UNIT_DIR=/etc/systemd/system
BOOT_CONFIG=/boot/firmware/config.txt
SERVICE_USER=kiosk
SERVICE_GROUPS=(spi gpio video render input dialout)
APT_PACKAGES=(
  python3-venv python3-dev build-essential  # the venv; spidev and RPi.GPIO build from source
  libsdl2-2.0-0 libdrm2 libgbm1 libegl1 libgles2  # SDL on KMS/DRM without a desktop
  fonts-wqy-microhei                        # Chinese glyphs for names, tiers and rewards
  mosquitto-clients                         # mosquitto_sub/pub for checking the HQ link by hand
  sqlite3                                   # for the power-loss drill's ledger checks
)
SPI_LINE="dtparam=spi=on"

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --dry-run          print the plan, change nothing
  --root DIR         install files under DIR; skip apt, users, venv and systemctl
  --source DIR       project checkout to install (default: $SRC)
  --boot-config F    Pi boot config to check for SPI (default: $BOOT_CONFIG)
  --no-start         enable the service but do not (re)start it
  -h, --help         this text
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT="${2:?--root needs a directory}"; shift ;;
    --source) SRC="${2:?--source needs a directory}"; shift ;;
    --boot-config) BOOT_CONFIG="${2:?--boot-config needs a file}"; shift ;;
    --no-start) START=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -n "$ROOT" ]; then
  ROOT="$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)"
fi
VENV="$PREFIX/venv"
WARNINGS=()

say() { printf '%s\n' "$*"; }
warn() { WARNINGS+=("$*"); printf 'WARNING: %s\n' "$*"; }

# run CMD...: a change to the filesystem under $ROOT (done in --root mode, printed in --dry-run).
run() {
  say "+ $(printf '%q ' "$@")"
  if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}

# sys CMD...: a change to the running system (apt, users, systemd): never in --root mode.
sys() {
  if [ -n "$ROOT" ]; then
    say "skip (--root): $*"
  else
    run "$@"
  fi
}

if [ "$DRY_RUN" -eq 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "run as root (sudo $0), or use --dry-run / --root DIR" >&2
  exit 2
fi
if [ ! -f "$SRC/pyproject.toml" ] || [ ! -f "$SRC/systemd/kiosk.service" ]; then
  echo "$SRC does not look like the kiosk project (no pyproject.toml / systemd/kiosk.service)" >&2
  exit 2
fi

say "== kiosk installer: source $SRC${ROOT:+, staging root $ROOT}$([ "$DRY_RUN" -eq 1 ] && echo ', DRY RUN')"

# --- 1. the system ------------------------------------------------------------------------
codename="$(sed -n 's/^VERSION_CODENAME=//p' "$ROOT/etc/os-release" 2>/dev/null | tr -d '"' || true)"
if [ "$codename" != "bookworm" ]; then
  warn "this is not Raspberry Pi OS Bookworm (VERSION_CODENAME='${codename:-unknown}'); continuing"
fi

say "== apt packages"
sys apt-get update -q
sys env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"

# --- 2. the service user --------------------------------------------------------------------
say "== user $SERVICE_USER"
if [ -n "$ROOT" ]; then
  say "skip (--root): user $SERVICE_USER with groups ${SERVICE_GROUPS[*]}"
elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
  say "keep existing user $SERVICE_USER"
else
  sys useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "membership-card kiosk" "$SERVICE_USER"
fi
for group in "${SERVICE_GROUPS[@]}"; do
  [ -n "$ROOT" ] && break
  if ! getent group "$group" >/dev/null 2>&1; then
    warn "group $group does not exist on this system; the unit's SupplementaryGroups= will fail without it"
  elif id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
    say "keep group $group"
  else
    sys usermod -aG "$group" "$SERVICE_USER"
  fi
done

# --- 3. code and virtual environment --------------------------------------------------------
say "== code in $PREFIX"
run mkdir -p "$ROOT$PREFIX"
# Copy into a fresh directory, then swap: a failed copy never leaves half a source tree.
run rm -rf "$ROOT$PREFIX/src.new"
run mkdir -p "$ROOT$PREFIX/src.new"
say "+ tar -C $SRC --exclude=.git --exclude=.venv --exclude=var --exclude=out ... -cf - . | tar -C $ROOT$PREFIX/src.new -xf -"
if [ "$DRY_RUN" -eq 0 ]; then
  tar -C "$SRC" --exclude=./.git --exclude=./.venv --exclude=./var --exclude=./out \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis \
    -cf - . | tar -C "$ROOT$PREFIX/src.new" -xf -
fi
run rm -rf "$ROOT$PREFIX/src.old"
if [ -d "$ROOT$PREFIX/src" ]; then run mv "$ROOT$PREFIX/src" "$ROOT$PREFIX/src.old"; fi
run mv "$ROOT$PREFIX/src.new" "$ROOT$PREFIX/src"
run rm -rf "$ROOT$PREFIX/src.old"

say "== virtual environment $VENV"
if [ -x "$ROOT$VENV/bin/python" ]; then
  say "keep existing venv $VENV"
else
  sys python3 -m venv "$VENV"
fi
sys "$VENV/bin/pip" install --quiet --upgrade pip
sys "$VENV/bin/pip" install --quiet --upgrade "$PREFIX/src[pi]"

# --- 4. configuration and keys ---------------------------------------------------------------
say "== configuration in $CONF_DIR"
run install -d -m 0750 "$ROOT$CONF_DIR" "$ROOT$CONF_DIR/keys"
if [ -e "$ROOT$CONF_DIR/config.yaml" ]; then
  say "keep existing $CONF_DIR/config.yaml"
else
  run install -m 0640 "$SRC/tools/pi-config.yaml" "$ROOT$CONF_DIR/config.yaml"
fi
if [ -e "$ROOT$CONF_DIR/kiosk.env" ]; then
  say "keep existing $CONF_DIR/kiosk.env"
else
  run install -m 0640 "$SRC/systemd/kiosk.env.sample" "$ROOT$CONF_DIR/kiosk.env"
fi
# The voucher signing key is this device's own; `keys init` never overwrites an existing key.
sys "$VENV/bin/kiosk" keys init --config "$CONF_DIR/config.yaml" || \
  warn "card master key and HQ public key are still missing: install the files HQ provides in $CONF_DIR/keys"
sys chown -R "root:$SERVICE_USER" "$CONF_DIR"
# Directories 0750, files 0640: the kiosk group reads config and keys, nobody else does.
sys chmod -R u=rwX,g=rX,o= "$CONF_DIR"

# --- 5. SPI ---------------------------------------------------------------------------------
say "== SPI"
if [ -e "$ROOT/dev/spidev0.0" ]; then
  say "SPI is on (/dev/spidev0.0 exists)"
elif grep -Eq '^[[:space:]]*dtparam=([^#]*,)?spi=on' "$ROOT$BOOT_CONFIG" 2>/dev/null; then
  warn "$SPI_LINE is in $BOOT_CONFIG but /dev/spidev0.0 is missing: reboot"
else
  warn "SPI is off. Add this line to $BOOT_CONFIG, then reboot:
    $SPI_LINE"
fi

# --- 6. the service -------------------------------------------------------------------------
say "== systemd unit"
run install -d -m 0755 "$ROOT$UNIT_DIR"
if [ -f "$ROOT$UNIT_DIR/kiosk.service" ] && cmp -s "$SRC/systemd/kiosk.service" "$ROOT$UNIT_DIR/kiosk.service"; then
  say "keep unchanged $UNIT_DIR/kiosk.service"
else
  run install -m 0644 "$SRC/systemd/kiosk.service" "$ROOT$UNIT_DIR/kiosk.service"
fi
sys systemctl daemon-reload
# No login prompt on the touchscreen's console (technicians use SSH; uninstall re-enables it).
sys systemctl disable getty@tty1.service
sys systemctl enable kiosk.service
if [ "$START" -eq 1 ]; then
  sys systemctl restart kiosk.service
else
  say "not starting (--no-start): sudo systemctl start kiosk"
fi

say "== done"
say "check the device:  sudo $VENV/bin/kiosk doctor --config $CONF_DIR/config.yaml"
say "follow the logs:   journalctl -u kiosk -f"
if [ "${#WARNINGS[@]}" -gt 0 ]; then
  say "${#WARNINGS[@]} warning(s):"
  for w in "${WARNINGS[@]}"; do say "  - $w"; done
fi
