#!/usr/bin/env bash
# Remove the membership-card kiosk from a Raspberry Pi.
#
#   sudo tools/uninstall-pi.sh            # stop and remove the service and /opt/kiosk;
#                                         # keep /var/lib/kiosk (the ledger), /etc/kiosk and the user
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

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --purge) PURGE=1 ;;
    --root) ROOT="${2:?--root needs a directory}"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
if [ -e "$ROOT$UNIT_DIR/kiosk.service" ]; then
  # `disable --now` stops it cleanly: STOPPING=1, then the ledger closes its transactions.
  sys systemctl disable --now kiosk.service
  run rm -f "$ROOT$UNIT_DIR/kiosk.service"
  sys systemctl daemon-reload
  sys systemctl enable getty@tty1.service
else
  say "no unit installed"
fi

if [ -e "$ROOT$PREFIX" ]; then run rm -rf "$ROOT$PREFIX"; else say "no $PREFIX"; fi

if [ "$PURGE" -eq 1 ]; then
  for dir in "$STATE_DIR" /var/cache/kiosk /var/log/kiosk "$CONF_DIR"; do
    if [ -e "$ROOT$dir" ]; then run rm -rf "$ROOT$dir"; fi
  done
  if [ -z "$ROOT" ] && id -u "$SERVICE_USER" >/dev/null 2>&1; then
    sys userdel "$SERVICE_USER"
  fi
else
  [ -e "$ROOT$STATE_DIR" ] && say "kept $STATE_DIR (the ledger; --purge deletes it)"
  [ -e "$ROOT$CONF_DIR" ] && say "kept $CONF_DIR (config and keys; --purge deletes it)"
  say "kept user $SERVICE_USER"
fi
say "== done"
