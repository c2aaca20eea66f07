#!/usr/bin/env bash
# Installs what the runc runtime (services/hostagent/runtime/runc) and its
# tests need, idempotently:
#   - runc >= 1.5.2 built with seccomp support into <repo>/.bin/runc
#     (Debian's runc 1.1.5 predates the CVE-2024-21626 fix);
#   - busybox-static (Debian) so tests can build a rootfs without internet;
#   - a C compiler and the static C library, which runc's cgo and the C
#     container shim (hack/build-shim.sh) need.
# Fast when everything is already there (no apt-get, no go). Prints where runc is.
# Override the install dir with PACIFIC_RUNC_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
want_version="1.5.2"
bindir="${PACIFIC_RUNC_DIR:-$repo/.bin}"
runc="$bindir/runc"

# version_ok BINARY: true when BINARY reports a version >= want_version.
version_ok() {
  [ -x "$1" ] || return 1
  local have
  have=$("$1" --version 2>/dev/null | sed -n 's/^runc version \([0-9][0-9.]*\).*/\1/p' | head -n1)
  [ -n "$have" ] || return 1
  [ "$(printf '%s\n%s\n' "$want_version" "$have" | sort -V | head -n1)" = "$want_version" ]
}

apt_updated=0
apt_install() { # packages...
  if [ "$(id -u)" != 0 ]; then
    echo "install-runc: need root to apt-get install $*" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || missing+=(libc6-dev)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}" || echo "install-runc: without ${missing[*]} the C shim cannot be built (tests that need it skip, or fail with CI=true)" >&2
fi

if ! version_ok "$runc"; then
  missing=()
  dpkg -s libseccomp-dev >/dev/null 2>&1 || missing+=(libseccomp-dev)
  dpkg -s pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  mkdir -p "$bindir"
  echo "install-runc: building runc v$want_version with seccomp into $bindir" >&2
  (cd /tmp && CGO_ENABLED=1 GOBIN="$bindir" GOFLAGS=-mod=mod \
    go install -tags seccomp "github.com/opencontainers/runc@v$want_version")
  if ! version_ok "$runc"; then
    echo "install-runc: $runc does not report version >= $want_version:" >&2
    "$runc" --version >&2 || true
    exit 1
  fi
fi

# Static busybox for test rootfs (Debian package busybox-static installs /bin/busybox).
if ! { command -v busybox >/dev/null 2>&1 && busybox --help 2>&1 | grep -q BusyBox &&
  ! ldd "$(command -v busybox)" >/dev/null 2>&1; }; then
  apt_install busybox-static
fi

echo "$runc"
