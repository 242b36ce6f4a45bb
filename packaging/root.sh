#!/usr/bin/env bash
# Debian Bookworm roots for building and testing the kiosk's package, amd64 or arm64, with no
# binfmt_misc and no mounts: debootstrap --foreign unpacks the root, and every command inside it
# (the second stage too) runs under proot, which intercepts exec and, for arm64, starts each
# binary under qemu-aarch64-static (Debian's qemu-user-static).
#
#   packaging/root.sh base ARCH            # print the cached base root for ARCH, made if missing
#   packaging/root.sh copy ARCH DIR        # a fresh root in DIR, copied from the cached base
#   packaging/root.sh run DIR [-b SRC:DEST]... -- CMD...   # run CMD as root inside DIR
#
# The base roots are cached outside the repository, keyed by mirror and ISO week (a new week
# re-bootstraps, so security updates are picked up): $KIOSK_DEB_ROOTS (default
# ~/.cache/kiosk-deb-roots)/<week>-<mirror hash>/bookworm-ARCH.tar, with older keys deleted.
# Needs: debootstrap, proot, and qemu-user-static for arm64 (apt-get install debootstrap proot
# qemu-user-static). See docs/operations.md, "The Debian package".

set -euo pipefail

MIRROR="${KIOSK_DEB_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
CACHE="${KIOSK_DEB_ROOTS:-$HOME/.cache/kiosk-deb-roots}"

die() { printf 'root.sh: %s\n' "$*" >&2; exit 2; }

host_arch() { dpkg --print-architecture 2>/dev/null || uname -m; }

cache_key() {
  printf '%s-%s' "$(date -u +%G-W%V)" "$(printf '%s %s' "$MIRROR" "$SUITE" | sha256sum | cut -c1-8)"
}

check_arch() {
  case "$1" in
    amd64|arm64) ;;
    *) die "unknown architecture '$1' (amd64 or arm64)" ;;
  esac
}

# run_in DIR [-b SRC:DEST]... -- CMD...: proot as fake root (we may be real root too), with the
# host's /proc, /sys and device nodes, a clean environment and, for a foreign root, qemu.
# Never the host's /dev as a whole: proot passes mount and umount through to the kernel, and as
# real root a guest's `umount /dev/pts` (debootstrap's second stage, maintainer scripts) then
# unmounted the HOST's devpts: every later pseudo-terminal failed (seen in CI: the UART tests).
# The guest keeps /dev/pts and /dev/shm as its own directories.
run_in() {
  local dir="$1"; shift
  local binds=(-b /proc -b /sys -b /proc/self/fd:/dev/fd)
  local node
  for node in null zero full random urandom tty; do
    [ -e "/dev/$node" ] && binds+=(-b "/dev/$node")
  done
  mkdir -p "$dir/dev/pts" "$dir/dev/shm"
  chmod 1777 "$dir/dev/shm"
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    [ "$1" = "-b" ] || die "run: expected -b SRC:DEST or --, got '$1'"
    binds+=(-b "$2"); shift 2
  done
  [ "${1:-}" = "--" ] || die "run: missing -- before the command"
  shift
  local arch qemu=()
  arch="$(cat "$dir/.kiosk-root-arch" 2>/dev/null || echo unknown)"
  if [ "$arch" = arm64 ] && [ "$(host_arch)" != arm64 ]; then
    command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static missing: apt-get install qemu-user-static"
    qemu=(-q qemu-aarch64-static)
  fi
  # DEBIAN_FRONTEND: no debconf questions; LC_ALL=C.UTF-8 exists in every Debian root.
  proot -0 "${qemu[@]}" -r "$dir" "${binds[@]}" -w / \
    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# make_base ARCH TAR: debootstrap a minimal root and pack it as TAR.
make_base() {
  local arch="$1" tar="$2" work
  work="$(mktemp -d "${tar%.tar}.XXXXXX")"
  printf 'root.sh: bootstrapping %s %s from %s into %s\n' "$SUITE" "$arch" "$MIRROR" "$work" >&2
  debootstrap --foreign --arch="$arch" --variant=minbase "$SUITE" "$work" "$MIRROR" >"$work.log" 2>&1 ||
    { tail -20 "$work.log" >&2; die "debootstrap (first stage) failed; log: $work.log"; }
  printf '%s\n' "$arch" >"$work/.kiosk-root-arch"
  run_in "$work" -- env DEBOOTSTRAP_DIR=/debootstrap /debootstrap/debootstrap --second-stage >>"$work.log" 2>&1 ||
    { tail -20 "$work.log" >&2; die "debootstrap --second-stage failed; log: $work.log"; }
  cp /etc/resolv.conf "$work/etc/resolv.conf"
  # apt's sandbox user cannot always read files bound in by proot; the roots are throw-away.
  printf 'APT::Sandbox::User "root";\n' >"$work/etc/apt/apt.conf.d/99kiosk-test-root"
  tar -C "$work" -cf "$tar.part" .
  mv "$tar.part" "$tar"
  rm -rf "$work" "$work.log"
}

base() {
  local arch="$1" key dir tar
  check_arch "$arch"
  key="$(cache_key)"
  dir="$CACHE/$key"
  tar="$dir/$SUITE-$arch.tar"
  if [ ! -f "$tar" ]; then
    mkdir -p "$dir"
    # An older week's roots are stale: drop them rather than let the cache grow.
    find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
    make_base "$arch" "$tar"
  fi
  printf '%s\n' "$tar"
}

copy() {
  local arch="$1" dest="$2" tar
  tar="$(base "$arch")"
  mkdir -p "$dest"
  [ -z "$(ls -A "$dest")" ] || die "copy: $dest is not empty"
  tar -C "$dest" -xf "$tar"
}

case "${1:-}" in
  base) [ $# -eq 2 ] || die "usage: root.sh base ARCH"; base "$2" ;;
  copy) [ $# -eq 3 ] || die "usage: root.sh copy ARCH DIR"; copy "$2" "$3" ;;
  run) [ $# -ge 3 ] || die "usage: root.sh run DIR [-b SRC:DEST]... -- CMD..."; shift; run_in "$@" ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
