// Command pacific-shim is the per-container shim of the host agent's runc
// runtime (services/hostagent/runtime/runc/shim), as a small binary of its
// own: one runs for every container, so its start time is on every pod
// start's path and its memory is paid per container. Install it next to
// the pacific binary; without it the agent runs `pacific shim` instead.
package main

import (
	"os"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

func main() { os.Exit(shim.Main(os.Args[1:])) }
