// Command podstart measures pod start latency on this machine, in one run:
// an API server replica, a loopback registry seeded with busybox:1, the
// image service, the runc runtime and the host agent, all in this process
// (the container shims are this executable re-run with "shim"). With the
// image already cached it creates pods one after another and then a batch
// at once, timing each from Create until a Watch shows status.phase
// Running, and compares them with bare `runc run -d` of the same workload
// (busybox `sleep 3600` in a bundle from the same rootfs with runc's default
// spec). It prints a table and ends with
//
//	RESULT podstart_p50_ms=<x> podstart_p99_ms=<x> runtime_p99_ms=<x> podstart_p99_ratio=<ours/bare>
//
// See README.md for what it needs.
package main
