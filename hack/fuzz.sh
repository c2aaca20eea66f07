#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZTIME each, default 10s). The seed
# corpora also run as plain tests in hack/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${FUZZTIME:-10s}"
for target in sdk/manifest:FuzzDecode sdk/manifest:FuzzRoundTrip sdk/labels:FuzzParseSelector sdk/quantity:FuzzParse \
  services/authz:FuzzVerify services/authz:FuzzAuthenticateHeader services/apiserver/rbac:FuzzRuleAllows; do
  pkg="./${target%%:*}" name="${target##*:}"
  echo "fuzz $pkg $name ($t)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" "$pkg"
done
