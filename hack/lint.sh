#!/usr/bin/env bash
# Static checks CI enforces: gofmt, go vet, buf lint, generated code current,
# go.mod/go.work tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
bad=$(gofmt -l $(git ls-files '*.go') 2>&1 || true)
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; fail=1; fi
go vet ./... ./sdk/... || fail=1
hack/generate.sh
if ! git diff --quiet -- sdk/gen || [ -n "$(git ls-files --others --exclude-standard sdk/gen)" ]; then
  echo "generated code is out of date: run hack/generate.sh and commit sdk/gen"; git status --short sdk/gen; fail=1
fi
for dir in . sdk; do
  if ! (cd "$dir" && GOWORK=off go mod tidy -diff >/dev/null); then
    echo "go.mod in $dir is not tidy: run (cd $dir && GOWORK=off go mod tidy)"; fail=1
  fi
done
# The C shim compiles without a warning (hack/install-runc.sh installs gcc).
if command -v "${CC:-cc}" >/dev/null; then
  tmp=$(mktemp -d)
  SHIM_CFLAGS=-Werror hack/build-shim.sh "$tmp/pacific-shim" || fail=1
  rm -rf "$tmp"
else
  echo "lint: no C compiler, the C shim was not compiled (run hack/install-runc.sh)"; fail=1
fi
want=$(printf '%s\n' . ./sdk)
have=$(go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p' | sort)
if [ "$have" != "$(echo "$want" | sort)" ]; then echo "go.work must use exactly: . ./sdk (has: $have)"; fail=1; fi
exit $fail
