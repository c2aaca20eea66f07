#!/usr/bin/env bash
# Runs every test of both modules. Installs nothing the tests cannot do
# without; tests that need root/runc/etc. fail (not skip) when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
# Container tests need a current runc (built with seccomp) and busybox-static.
hack/install-runc.sh
export PATH="$PWD/.bin:$PATH"
# Fuzz seed corpora run as plain tests here; hack/fuzz.sh fuzzes briefly (CI).
go test -count=1 -timeout 20m ./... ./sdk/...
# The runtime's tests once more under the Go shim (`pacific shim`, used when
# the C pacific-shim is not installed next to pacific).
PACIFIC_TEST_GO_SHIM=1 go test -count=1 -timeout 5m ./services/hostagent/runtime/runc/
