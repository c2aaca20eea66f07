// Package repo finds the source repository a test or benchmark runs from,
// and builds what they need from it that `go build` does not (the C
// container shim).
package repo
