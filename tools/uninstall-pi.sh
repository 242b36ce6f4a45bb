#!/usr/bin/env bash
# Remove the membership-card kiosk from a Raspberry Pi.
#
#   sudo tools/uninstall-pi.sh            # stop and remove the service, the console lockdown and
#                                         # /opt/kiosk; keep /var/lib/kiosk (the ledger), /etc/kiosk
#                                         # and the user
#   sudo tools/uninstall-pi.sh --purge    # also delete the ledger, config, keys, caches and the user
#   tools/uninstall-pi.sh --dry-run       # print every action, change nothing
#
# The ledger may hold events HQ has not acknowledged yet: without --purge it stays, so a reinstall
# picks up where the kiosk left off. Safe to re-run.

set -euo pipefail

ROOT=""
DRY_RUN=0
PURGE=0
PREFIX=/opt/kiosk
CONF_DIR=/etc/kiosk
STATE_DIR=/var/lib/kiosk
UNIT_DIR=/etc/systemd/system
SERVICE_USER=kiosk
TOUCH_GROUP=kiosk-touch
# What install-pi.sh's console lockdown placed (keep in step with it); the masks it made are
# listed in $MASK_LIST, and only those are removed.
MASK_LIST="$PREFIX/masked-units"
LOCKDOWN_FILES=(
  /etc/systemd/logind.conf.d/kiosk-lockdown.conf
  /etc/systemd/system.conf.d/kiosk-lockdown.conf
  /etc/sysctl.d/90-kiosk-lockdown.conf
  /etc/udev/rules.d/70-kiosk-input.rules
)
UDEV_RULE=/etc/udev/rules.d/70-kiosk-input.rules

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --purge) PURGE=1 ;;
    --root) ROOT="${2:?--root needs a directory}"; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '%s\n' "$*"; }
run() {
  say "+ $(printf '%q ' "$@")"
  if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}
sys() {
  if [ -n "$ROOT" ]; then say "skip (--root): $*"; else run "$@"; fi
}

if [ "$DRY_RUN" -eq 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "run as root (sudo $0), or use --dry-run / --root DIR" >&2
  exit 2
fi

say "== kiosk uninstaller${ROOT:+: staging root $ROOT}$([ "$DRY_RUN" -eq 1 ] && echo ', DRY RUN')"
changed=0
if [ -e "$ROOT$UNIT_DIR/kiosk.service" ]; then
  # `disable --now` stops it cleanly: STOPPING=1, then the ledger closes its transactions.
  sys systemctl disable --now kiosk.service
  run rm -f "$ROOT$UNIT_DIR/kiosk.service"
  changed=1
else
  say "no unit installed"
fi

say "== console lockdown"
# Keyboards the udev rule switched off (it marked them KIOSK_KEYS_OFF=1) come back on now; asked
# before the rule goes, while udev's database still carries the mark.
if [ -z "$ROOT" ] && [ -e "$UDEV_RULE" ]; then
  for dev in /sys/class/input/input*; do
    [ -e "$dev/inhibited" ] || continue
    if udevadm info --query=property --path="$dev" 2>/dev/null | grep -qx 'KIOSK_KEYS_OFF=1'; then
      say "+ echo 0 > $dev/inhibited"
      if [ "$DRY_RUN" -eq 0 ]; then echo 0 >"$dev/inhibited"; fi
    fi
  done
fi
removed=0
for file in "${LOCKDOWN_FILES[@]}"; do
  if [ -e "$ROOT$file" ]; then run rm -f "$ROOT$file"; removed=1; fi
done
# The installer created these drop-in directories if they were missing; empty, they go too.
for dir in /etc/systemd/logind.conf.d /etc/systemd/system.conf.d; do
  if [ -d "$ROOT$dir" ] && [ -z "$(ls -A "$ROOT$dir")" ]; then run rmdir "$ROOT$dir"; fi
done
masks=()
if [ -f "$ROOT$MASK_LIST" ]; then mapfile -t masks <"$ROOT$MASK_LIST"; fi
for unit in "${masks[@]}"; do
  link="$ROOT$UNIT_DIR/$unit"
  # Only a mask this installer made, and only while it is still a mask.
  if [ -L "$link" ] && [ "$(readlink "$link")" = /dev/null ]; then run rm -f "$link"; removed=1; fi
done
if [ "$removed" -eq 0 ]; then say "no console lockdown installed"; fi
if [ "$changed" -eq 1 ] || [ "$removed" -eq 1 ]; then
  sys systemctl daemon-reload
  # Login prompt on the console again (getty@tty1 is enabled on Raspberry Pi OS; older versions of
  # the installer disabled it).
  sys systemctl enable getty@tty1.service
fi
if [ "$removed" -eq 1 ]; then
  sys systemctl restart systemd-sysctl.service
  # The touch panel back to the `input` group.
  sys udevadm control --reload
  sys udevadm trigger --subsystem-match=input --action=change
fi

if [ -e "$ROOT$PREFIX" ]; then run rm -rf "$ROOT$PREFIX"; else say "no $PREFIX"; fi

if [ "$PURGE" -eq 1 ]; then
  for dir in "$STATE_DIR" /var/cache/kiosk /var/log/kiosk "$CONF_DIR"; do
    if [ -e "$ROOT$dir" ]; then run rm -rf "$ROOT$dir"; fi
  done
  if [ -z "$ROOT" ] && id -u "$SERVICE_USER" >/dev/null 2>&1; then
    sys userdel "$SERVICE_USER"
  fi
  if [ -z "$ROOT" ] && getent group "$TOUCH_GROUP" >/dev/null 2>&1; then
    sys groupdel "$TOUCH_GROUP"
  fi
else
  [ -e "$ROOT$STATE_DIR" ] && say "kept $STATE_DIR (the ledger; --purge deletes it)"
  [ -e "$ROOT$CONF_DIR" ] && say "kept $CONF_DIR (config and keys; --purge deletes it)"
  say "kept user $SERVICE_USER and group $TOUCH_GROUP"
fi
say "== done"
say "reboot once to bring back logind's login prompts on tty2..tty6 and the kernel's default SysRq"
