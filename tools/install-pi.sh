#!/usr/bin/env bash
# Install (or update) the membership-card kiosk on Raspberry Pi OS Bookworm.
#
#   sudo tools/install-pi.sh              # install, enable and start kiosk.service
#   tools/install-pi.sh --dry-run         # print every action, change nothing (no root needed)
#   tools/install-pi.sh --root DIR        # place files under DIR only, skip system commands
#                                         # (how CI checks the file-placing half without root)
#
# Safe to re-run: existing config.yaml, kiosk.env and keys are kept; the user, groups, unit and
# console lockdown are brought to the wanted state; the code and the venv are refreshed.
# See docs/operations.md.

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
# The touch panel's event node is given to this group by the udev rule below; the kiosk is not in
# `input`, so it cannot read a keyboard (or any other input device).
TOUCH_GROUP=kiosk-touch
SERVICE_GROUPS=(spi gpio video render "$TOUCH_GROUP" dialout)
# Console lockdown (docs/operations.md, "Keyboards and the console"): units masked (linked to
# /dev/null) so no login prompt and no Ctrl+Alt+Del reboot can be reached from a keyboard, and
# files placed from systemd/lockdown/ (source:destination).
MASKED_UNITS=(getty@.service autovt@.service ctrl-alt-del.target)
MASK_LIST="$PREFIX/masked-units"  # the masks this installer made, for uninstall-pi.sh
LOCKDOWN_FILES=(
  logind.conf:/etc/systemd/logind.conf.d/kiosk-lockdown.conf
  system.conf:/etc/systemd/system.conf.d/kiosk-lockdown.conf
  sysctl.conf:/etc/sysctl.d/90-kiosk-lockdown.conf
  input.rules:/etc/udev/rules.d/70-kiosk-input.rules
)
APT_PACKAGES=(
  python3-venv python3-dev build-essential  # the venv; spidev and RPi.GPIO build from source
  swig                                      # lgpio (GPIO on every Pi, Pi 5 too) where no wheel fits
  libsdl2-2.0-0 libdrm2 libgbm1 libegl1 libgles2  # SDL on KMS/DRM without a desktop
  fonts-wqy-microhei                        # Chinese glyphs for names, tiers and rewards
  mosquitto-clients                         # mosquitto_sub/pub for checking the HQ link by hand
  sqlite3                                   # for the power-loss drill's ledger checks
)
SPI_LINE="dtparam=spi=on"

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
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

# place SRC DEST MODE: install SRC as $ROOT/DEST unless it is already there unchanged.
place() {
  if [ -f "$ROOT$2" ] && cmp -s "$1" "$ROOT$2"; then
    say "keep unchanged $2"
  else
    run install -d -m 0755 "$ROOT$(dirname "$2")"
    run install -m "$3" "$1" "$ROOT$2"
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
if [ -n "$ROOT" ]; then
  say "skip (--root): group $TOUCH_GROUP"
elif getent group "$TOUCH_GROUP" >/dev/null 2>&1; then
  say "keep group $TOUCH_GROUP"
else
  sys groupadd --system "$TOUCH_GROUP"
fi
for group in "${SERVICE_GROUPS[@]}"; do
  [ -n "$ROOT" ] && break
  if [ "$group" != "$TOUCH_GROUP" ] && ! getent group "$group" >/dev/null 2>&1; then
    warn "group $group does not exist on this system; the unit's SupplementaryGroups= will fail without it"
  elif id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
    say "keep group $group"
  else
    sys usermod -aG "$group" "$SERVICE_USER"
  fi
done
# Earlier versions of this installer put the user in `input`, which reads every keyboard. systemd
# gives a User= service all of that user's groups from /etc/group, whatever SupplementaryGroups=
# says, so the membership itself has to go.
if [ -z "$ROOT" ] && id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx input; then
  sys gpasswd -d "$SERVICE_USER" input
fi

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

# --- 6. console lockdown --------------------------------------------------------------------
# A keyboard plugged into the kiosk must not give a shell or a way off the kiosk screen.
say "== console lockdown"
run install -d -m 0755 "$ROOT$UNIT_DIR"
masked=()
if [ -f "$ROOT$MASK_LIST" ]; then mapfile -t masked <"$ROOT$MASK_LIST"; fi
ours=()
for unit in "${MASKED_UNITS[@]}"; do
  link="$ROOT$UNIT_DIR/$unit"
  if [ -L "$link" ] && [ "$(readlink "$link")" = /dev/null ]; then
    if printf '%s\n' "${masked[@]}" | grep -qxF "$unit"; then
      say "keep mask $unit"
      ours+=("$unit")
    else
      say "keep mask $unit (made by someone else: uninstall leaves it)"
    fi
  elif [ -e "$link" ] || [ -L "$link" ]; then
    warn "not masking $unit: $UNIT_DIR/$unit exists and is not a mask; move it away and re-run"
  else
    # What `systemctl mask` does; a plain link also works under --root.
    run ln -s /dev/null "$link"
    ours+=("$unit")
  fi
done
if [ "${#ours[@]}" -eq 0 ]; then
  if [ -e "$ROOT$MASK_LIST" ]; then run rm -f "$ROOT$MASK_LIST"; fi
elif [ "$(printf '%s\n' "${ours[@]}")" != "$(cat "$ROOT$MASK_LIST" 2>/dev/null)" ]; then
  say "+ write $MASK_LIST: ${ours[*]}"
  if [ "$DRY_RUN" -eq 0 ]; then printf '%s\n' "${ours[@]}" >"$ROOT$MASK_LIST"; fi
fi
for entry in "${LOCKDOWN_FILES[@]}"; do
  place "$SRC/systemd/lockdown/${entry%%:*}" "${entry#*:}" 0644
done

# --- 7. the service -------------------------------------------------------------------------
say "== systemd unit"
place "$SRC/systemd/kiosk.service" "$UNIT_DIR/kiosk.service" 0644
# Re-reads units, the masks and system.conf.d (CtrlAltDelBurstAction=).
sys systemctl daemon-reload
sys systemctl restart systemd-sysctl.service
# The touch panel to kiosk-touch and keyboards switched off now, not only after a reboot. The last
# step that needs a keyboard at this console: carry on over SSH.
sys udevadm control --reload
sys udevadm trigger --subsystem-match=input --action=change
sys udevadm settle
sys systemctl enable kiosk.service
if [ "$START" -eq 1 ]; then
  sys systemctl restart kiosk.service
else
  say "not starting (--no-start): sudo systemctl start kiosk"
fi

say "== done"
say "reboot once to finish the console lockdown (logind's NAutoVTs=/ReserveVT=, login prompts already running)"
say "check the device:  sudo $VENV/bin/kiosk doctor --config $CONF_DIR/config.yaml"
say "follow the logs:   journalctl -u kiosk -f"
if [ "${#WARNINGS[@]}" -gt 0 ]; then
  say "${#WARNINGS[@]} warning(s):"
  for w in "${WARNINGS[@]}"; do say "  - $w"; done
fi
