#!/usr/bin/env bash
# Regenerates widget.txtpb (the descriptor of widget.proto) with buf.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pacific/test/v1" "$tmp/pacific/core/v1"
cp "$here/widget.proto" "$tmp/pacific/test/v1/"
cp "$root/proto/pacific/core/v1/meta.proto" "$tmp/pacific/core/v1/"
printf 'version: v2\n' >"$tmp/buf.yaml"
(cd "$tmp" && buf build --as-file-descriptor-set --exclude-imports --exclude-source-info --path pacific/test/v1/widget.proto -o "$here/widget.txtpb")
