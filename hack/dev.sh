#!/usr/bin/env bash
# Builds pacific, pacific-shim and pacctl into ./bin and runs `pacific dev` (everything in
# one process on loopback). Extra arguments go to `pacific dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
echo "building bin/pacific, bin/pacific-shim and bin/pacctl ..." >&2
go build -o bin/pacific ./cmd/pacific
go build -o bin/pacctl ./cmd/pacctl
hack/install-runc.sh >&2 || echo "runc could not be installed: pacific dev will run without a local host" >&2
# The C shim, one per container (decision 0033); without it pacific runs
# its containers under `pacific shim`.
hack/build-shim.sh bin/pacific-shim || echo "pacific-shim could not be built: containers run under pacific shim" >&2
export PATH="$PWD/.bin:$PATH"
exec bin/pacific dev --data-dir "${PACIFIC_DATA_DIR:-$PWD/.pacific-dev}" "$@"
