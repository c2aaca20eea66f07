#!/usr/bin/env bash
# Installs the pinned code-generation and lint tools into ./.bin (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOBIN="$PWD/.bin"
export GOFLAGS=-mod=mod
mkdir -p "$GOBIN"
want() { # name module@version
  local stamp="$GOBIN/.$1.version"
  if [ -x "$GOBIN/$1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$2" ]; then return; fi
  echo "installing $2" >&2
  (cd /tmp && go install "$2")
  echo "$2" >"$stamp"
}
want buf github.com/bufbuild/buf/cmd/buf@v1.75.0
want protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
want protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
