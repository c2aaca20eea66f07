#!/usr/bin/env bash
# Builds the C container shim (cmd/pacific-shim/pacific-shim.c, decision 0033)
# into $1 (default bin/pacific-shim): static, so a container start pays no
# dynamic loading. Needs a C compiler and the static C library (Debian:
# gcc and libc6-dev, which building runc needs too).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/pacific-shim}
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null; then
  echo "build-shim: no C compiler ($cc); install gcc (apt-get install -y gcc libc6-dev)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
"$cc" -std=c11 -O2 -Wall -Wextra ${SHIM_CFLAGS:-} -D_FORTIFY_SOURCE=2 -fstack-protector-strong -static \
  -o "$out.tmp" cmd/pacific-shim/pacific-shim.c
mv "$out.tmp" "$out"
