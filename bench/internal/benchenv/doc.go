// Package benchenv holds what the benchmarks that run real containers share
// about the machine they run on: finding the repository and runc, checking
// the static busybox the test image is built from, listing leftover mounts,
// and warning when the machine is too busy for calm numbers.
package benchenv
