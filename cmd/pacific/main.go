// Command pacific is the one server binary: `pacific apiserver` runs one API
// server replica, `pacific dev` runs everything in one process.
package main

import (
	"context"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == shimCommand {
		os.Exit(runShim(os.Args[2:]))
	}
	os.Exit(run(context.Background(), os.Args[1:]))
}
