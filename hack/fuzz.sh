#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZTIME each, default 10s). The seed
# corpora also run as plain tests in hack/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../sdk"
t="${FUZZTIME:-10s}"
for target in manifest:FuzzDecode manifest:FuzzRoundTrip labels:FuzzParseSelector quantity:FuzzParse; do
  pkg="./${target%%:*}" name="${target##*:}"
  echo "fuzz $pkg $name ($t)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
done
