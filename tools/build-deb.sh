#!/usr/bin/env bash
# Build the kiosk's Debian package, membership-kiosk_VERSION_ARCH.deb, for Debian/Raspberry Pi OS
# Bookworm on amd64 or arm64, from any Debian machine of either architecture:
#
#   tools/build-deb.sh --arch arm64 --version 0.2.0-1          # -> dist/membership-kiosk_0.2.0-1_arm64.deb
#   tools/build-deb.sh --arch amd64 --version 0.2.0-1 --out /srv/fleet-incoming --ref v0.2.0
#
# The package holds a self-contained virtual environment in /opt/kiosk/venv (the kiosk and every
# Python dependency, byte-compiled; it runs on Debian's python3.11), the systemd unit, the console
# lockdown files, /etc/kiosk/config.yaml and /etc/kiosk/kiosk.env as conffiles, and maintainer
# scripts (packaging/debian/) that create the `kiosk` user and keep config, keys and the ledger.
# Tool: plain dpkg-deb with a hand-written DEBIAN/ (why: docs/operations.md, "The Debian package").
#
# Wheels come from PyPI for the target's platform (pip download --platform, so an amd64 machine
# builds the arm64 package without emulation). Requirements with no wheel for the target (spidev
# and RPi.GPIO on arm64) are compiled once in a Bookworm root of the target's architecture
# (packaging/root.sh: debootstrap + proot + qemu-user-static) and the wheels cached by the
# source's hash. The code is the committed tree at --ref (default HEAD), never uncommitted files.
# Cache: $KIOSK_DEB_CACHE (default ~/.cache/kiosk-deb-build).

set -euo pipefail
umask 022

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCH=""
VERSION=""
REF=HEAD
OUT="$SRC/dist"
COMPRESS=xz
CACHE="${KIOSK_DEB_CACHE:-$HOME/.cache/kiosk-deb-build}"
PACKAGE=membership-kiosk
PREFIX=/opt/kiosk
VENV="$PREFIX/venv"
PYVER=3.11  # Bookworm's python3; the wheels are cp311 and the venv runs /usr/bin/python3.11
MAINTAINER="${KIOSK_DEB_MAINTAINER:-Membership kiosk team <kiosk-team@example.invalid>}"

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --arch amd64|arm64    target architecture (required)
  --version V           Debian version, e.g. 0.2.0-1 (required)
  --ref REF             git commit, tag or branch to package (default: HEAD); WORKTREE
                        packages the working tree as it is (for tests and trials)
  --out DIR             where the .deb goes (default: dist/)
  --compress xz|gzip|none   dpkg-deb compression (default: xz)
  -h, --help            this text
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="${2:?--arch needs amd64 or arm64}"; shift ;;
    --version) VERSION="${2:?--version needs a version}"; shift ;;
    --ref) REF="${2:?--ref needs a git ref}"; shift ;;
    --out) OUT="${2:?--out needs a directory}"; shift ;;
    --compress) COMPRESS="${2:?--compress needs xz, gzip or none}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[build-deb] %s\n' "$*" >&2; }
die() { printf '[build-deb] %s\n' "$*" >&2; exit 2; }

case "$ARCH" in
  amd64) MACHINE=x86_64 ;;
  arm64) MACHINE=aarch64 ;;
  *) die "--arch must be amd64 or arm64 (see --help)" ;;
esac
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "--version '$VERSION' is not a Debian version (e.g. 0.2.0-1)"
case "$COMPRESS" in xz|gzip|none) ;; *) die "--compress must be xz, gzip or none" ;; esac
command -v dpkg-deb >/dev/null || die "dpkg-deb missing (a Debian machine is needed)"

# A Python 3.11 with pip runs pip download/install and byte-compiles (the .pyc format is per minor
# version, so it must be the target's 3.11).
pick_python() {
  local candidate
  for candidate in "${KIOSK_BUILD_PYTHON:-}" "$SRC/.venv/bin/python" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null &&
      "$candidate" -m pip --version >/dev/null 2>&1; then
      command -v "$candidate"; return 0
    fi
  done
  die "a Python 3.11 with pip is needed (set KIOSK_BUILD_PYTHON)"
}
PY="$(pick_python)"

WORK="$(mktemp -d /tmp/kiosk-build-deb.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/stage"
WHEELS="$WORK/wheels"
mkdir -p "$WORK/src" "$WHEELS" "$STAGE" "$OUT" "$CACHE"

pip() { "$PY" -m pip --disable-pip-version-check "$@"; }
# Select wheels for Bookworm on the target: glibc 2.36, CPython 3.11. pip does not expand
# manylinux_2_X to the older ones, so every one is named (manylinux2014 = manylinux_2_17).
TARGET=(--python-version "$PYVER" --implementation cp --abi cp311 --abi abi3 --abi none
  --platform "manylinux2014_$MACHINE" --platform "linux_$MACHINE")
for glibc_minor in $(seq 17 36); do TARGET+=(--platform "manylinux_2_${glibc_minor}_$MACHINE"); done

# --- 1. the source, as committed --------------------------------------------------------------
if [ "$REF" = WORKTREE ]; then
  # The working tree as it is (tracked and untracked, minus .gitignore'd files), through a
  # throw-away index: neither the real index nor any ref changes. For tests and trials.
  export GIT_INDEX_FILE="$WORK/index"
  git -C "$SRC" read-tree HEAD
  git -C "$SRC" add -A
  commit="$(git -C "$SRC" commit-tree -p HEAD -m "working tree for build-deb.sh" "$(git -C "$SRC" write-tree)")"
  unset GIT_INDEX_FILE
else
  commit="$(git -C "$SRC" rev-parse --verify "$REF^{commit}")" || die "no commit '$REF' in $SRC"
fi
say "packaging $PACKAGE $VERSION for $ARCH from commit $commit"
git -C "$SRC" archive --format=tar "$commit" | tar -C "$WORK/src" -xf -

# --- 2. wheels: the kiosk, then everything it needs for the target ------------------------------
pip wheel --quiet --no-deps -w "$WHEELS" "$WORK/src"
kiosk_wheel="$(ls "$WHEELS"/membership_kiosk-*.whl)"
pip download --quiet --dest "$WHEELS" --only-binary=:all: "${TARGET[@]}" "$kiosk_wheel"

# The Pi's hardware libraries (extra `pi`) have markers for aarch64/armv7l, which pip evaluates
# for the machine it runs on, not for --platform: list them here without the markers.
pi_extras=()
mapfile -t pi_extras < <("$PY" -c '
import sys, tomllib
machine = sys.argv[2]
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["pi"]
for req in extras:
    spec, _, marker = req.partition(";")
    # The markers only ever name the Pi machines; keep the requirement if this machine is one.
    if not marker.strip() or repr(machine) in marker.replace(chr(34), chr(39)):
        print(spec.strip())
' "$WORK/src/pyproject.toml" "$MACHINE")

sdists=()
for req in "${pi_extras[@]}"; do
  # --no-deps: mfrc522 needs spidev and RPi.GPIO, which are in this list themselves.
  if ! pip download --quiet --no-deps --dest "$WHEELS" --only-binary=:all: "${TARGET[@]}" "$req" 2>/dev/null; then
    say "no $ARCH wheel for '$req': building it from source in a $ARCH root"
    pip download --quiet --no-deps --no-binary=:all: --dest "$WORK/sdist" "$req"
  fi
done
if [ -d "$WORK/sdist" ]; then mapfile -t sdists < <(ls "$WORK/sdist"/*); fi

# --- 3. requirements without a wheel: compiled in a root of the target's architecture -----------
build_native() {
  local sdist="$1" sum dest builder root
  sum="$(sha256sum "$sdist" | cut -c1-16)"
  dest="$CACHE/native-$ARCH/$(basename "$sdist")-$sum"
  if ! ls "$dest"/*.whl >/dev/null 2>&1; then
    builder="$CACHE/builder-$ARCH-$(basename "$(dirname "$("$SRC/packaging/root.sh" base "$ARCH")")")-$(sha256sum "$SRC/packaging/proot-access.c" | cut -c1-8).tar"
    if [ ! -f "$builder" ]; then
      say "making the $ARCH build root (once per base root; minutes under emulation)"
      rm -f "$CACHE"/builder-"$ARCH"-*.tar
      root="$WORK/builder"
      "$SRC/packaging/root.sh" copy "$ARCH" "$root"
      "$SRC/packaging/root.sh" run "$root" -- sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends gcc libc6-dev python3-dev python3-pip python3-setuptools python3-wheel' >"$WORK/builder.log" 2>&1 ||
        { tail -20 "$WORK/builder.log" >&2; die "could not install the compilers in the $ARCH build root"; }
      # gcc finds cc1, crt*.o and its plugin with access(), which Bookworm's proot does not
      # translate (packaging/proot-access.c): build the shim that answers it with fstatat(), the
      # one step that runs cc1 from PATH and links with plain ld.
      install -D -m 0644 "$SRC/packaging/proot-access.c" "$root/usr/local/src/proot-access.c"
      # shellcheck disable=SC2016  # expanded by the root's sh
      "$SRC/packaging/root.sh" run "$root" -- sh -ec 'libexec="/usr/lib/gcc/$(gcc -dumpmachine)/$(gcc -dumpversion)"
        PATH="$libexec:$PATH" gcc -O2 -fPIC -c /usr/local/src/proot-access.c -o /tmp/proot-access.o
        ld -shared -o /usr/local/lib/proot-access.so /tmp/proot-access.o' >>"$WORK/builder.log" 2>&1 ||
        { tail -20 "$WORK/builder.log" >&2; die "could not build packaging/proot-access.c in the $ARCH build root"; }
      tar -C "$root" -cf "$builder.part" . && mv "$builder.part" "$builder"
      rm -rf "$root"
    fi
    root="$WORK/builder"
    rm -rf "$root"; mkdir -p "$root" "$dest.part"
    tar -C "$root" -xf "$builder"
    "$SRC/packaging/root.sh" run "$root" -b "$(dirname "$sdist"):/in" -b "$dest.part:/out" -- \
      env LD_PRELOAD=/usr/local/lib/proot-access.so \
      python3 -m pip wheel --no-deps --no-build-isolation --no-index -w /out "/in/$(basename "$sdist")" >"$WORK/native.log" 2>&1 ||
      { tail -20 "$WORK/native.log" >&2; die "building $(basename "$sdist") for $ARCH failed"; }
    rm -rf "$root" "$dest"; mv "$dest.part" "$dest"
  fi
  cp "$dest"/*.whl "$WHEELS/"
}
for sdist in "${sdists[@]}"; do build_native "$sdist"; done

# --- 4. the virtual environment ---------------------------------------------------------------
site="$STAGE$VENV/lib/python$PYVER/site-packages"
mkdir -p "$STAGE$VENV/bin" "$site"
pip install --quiet --no-deps --no-index --only-binary=:all: "${TARGET[@]}" --target "$WORK/target" "$WHEELS"/*.whl
mv "$WORK/target/bin"/* "$STAGE$VENV/bin/"
rmdir "$WORK/target/bin"
# Data files of the wheels (man pages, headers) belong beside lib/, as in any venv.
for data in include share; do
  if [ -d "$WORK/target/$data" ]; then mv "$WORK/target/$data" "$STAGE$VENV/$data"; fi
done
cp -a "$WORK/target/." "$site/"
# Console scripts: pip wrote the build machine's Python into their first line.
for script in "$STAGE$VENV/bin"/*; do
  if head -c2 "$script" | grep -q '#!'; then sed -i "1s|^#!.*|#!$VENV/bin/python$PYVER|" "$script"; fi
done
ln -s "/usr/bin/python$PYVER" "$STAGE$VENV/bin/python$PYVER"
ln -s "python$PYVER" "$STAGE$VENV/bin/python3"
ln -s "python$PYVER" "$STAGE$VENV/bin/python"
cat >"$STAGE$VENV/pyvenv.cfg" <<EOF
home = /usr/bin
include-system-site-packages = false
version = $PYVER
executable = /usr/bin/python$PYVER
EOF
# What is in the venv, for HQ and for the next person who has to rebuild it.
{
  printf '# %s %s %s, from commit %s\n' "$PACKAGE" "$VERSION" "$ARCH" "$commit"
  (cd "$WHEELS" && sha256sum -- *.whl)
} >"$STAGE$PREFIX/wheels.sha256"
# Byte-compiled here, so the first start on a Pi does not write into /opt; unchecked-hash .pyc
# stay valid whatever mtimes dpkg gives the sources.
"$PY" -m compileall -q -j 1 --invalidation-mode unchecked-hash -s "$STAGE" -p / "$site" >"$WORK/compile.log" 2>&1 ||
  say "some files did not byte-compile (they compile at run time instead): $(grep -c '^\*\*\*' "$WORK/compile.log" || true)"

# --- 5. unit, lockdown, config, docs ------------------------------------------------------------
install -d "$STAGE/usr/bin"
ln -s "$VENV/bin/kiosk" "$STAGE/usr/bin/kiosk"  # `sudo kiosk doctor`; kiosk-hq and kiosk-till stay in the venv
install -D -m 0644 "$WORK/src/systemd/kiosk.service" "$STAGE/lib/systemd/system/kiosk.service"
sed -i "s|^Documentation=.*|Documentation=file:/usr/share/doc/$PACKAGE/operations.md|" "$STAGE/lib/systemd/system/kiosk.service"
lockdown="$WORK/src/systemd/lockdown"
install -D -m 0644 "$lockdown/logind.conf" "$STAGE/usr/lib/systemd/logind.conf.d/kiosk-lockdown.conf"
install -D -m 0644 "$lockdown/system.conf" "$STAGE/usr/lib/systemd/system.conf.d/kiosk-lockdown.conf"
install -D -m 0644 "$lockdown/sysctl.conf" "$STAGE/usr/lib/sysctl.d/90-kiosk-lockdown.conf"
install -D -m 0644 "$lockdown/input.rules" "$STAGE/lib/udev/rules.d/70-kiosk-input.rules"
install -D -m 0640 "$WORK/src/tools/pi-config.yaml" "$STAGE/etc/kiosk/config.yaml"
install -D -m 0640 "$WORK/src/systemd/kiosk.env.sample" "$STAGE/etc/kiosk/kiosk.env"
doc="$STAGE/usr/share/doc/$PACKAGE"
install -d "$doc"
install -m 0644 "$WORK/src/README.md" "$WORK/src/docs/operations.md" "$WORK/src/docs/config.md" "$doc/"
printf 'membership-kiosk: proprietary (see README.md). The virtual environment in %s holds\nthird-party wheels under their own licences; each wheel'"'"'s dist-info lists its licence.\n' \
  "$VENV" >"$doc/copyright"

# --- 6. DEBIAN/ and the .deb ---------------------------------------------------------------------
install -d "$STAGE/DEBIAN"
for script in preinst postinst prerm postrm; do
  install -m 0755 "$WORK/src/packaging/debian/$script" "$STAGE/DEBIAN/$script"
done
printf '/etc/kiosk/config.yaml\n/etc/kiosk/kiosk.env\n' >"$STAGE/DEBIAN/conffiles"
installed_kb="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
cat >"$STAGE/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_kb
Depends: python$PYVER, libc6 (>= 2.34), passwd, init-system-helpers (>= 1.54), fonts-wqy-microhei, libdrm2, libgbm1, libegl1, libgles2
Recommends: systemd, mosquitto-clients, sqlite3
Section: misc
Priority: optional
Description: membership-card kiosk for Raspberry Pi (RC522 reader, touchscreen, HQ link)
 A self-service terminal beside the till: members tap a card on an RC522 reader and see balance,
 points and tier on a pygame touchscreen on KMS/DRM, redeem points for vouchers online or
 offline, and check in daily. Local ledger replica, MQTT link to HQ.
 .
 Self-contained: the kiosk and its Python dependencies live in $VENV on python$PYVER.
 Built from commit $commit.
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"

deb="$OUT/${PACKAGE}_${VERSION}_$ARCH.deb"
dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$STAGE" "$deb" >/dev/null
say "built $deb ($(du -h "$deb" | cut -f1), $((installed_kb / 1024)) MiB installed)"
printf '%s\n' "$deb"
