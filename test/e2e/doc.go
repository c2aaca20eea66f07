// Package e2e runs the built binaries the way a user does: `pacific dev` in
// its own process, driven by `pacctl`. Nothing is in-process here.
package e2e
