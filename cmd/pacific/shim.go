package main

import (
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

// shimCommand is the hidden first argument that turns this binary into a
// container shim (see services/hostagent/runtime/runc/shim), used when the
// C cmd/pacific-shim is not installed next to it. It is handled
// before cobra, whose flag parsing must not see the shim's arguments, and it
// must keep fd 3 (the sync pipe) untouched.
const shimCommand = "shim"

func runShim(args []string) int { return shim.Main(args) }
