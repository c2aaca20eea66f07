#!/usr/bin/env bash
# Regenerates sdk/gen from proto/ with the pinned tools.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/tools.sh
export PATH="$PWD/.bin:$PATH"
rm -rf sdk/gen
buf lint
buf generate
