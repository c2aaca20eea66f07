// Command podstart measures pod start latency on this machine, in one run:
// an API server replica, a loopback registry seeded with busybox:1, the
// image service, the runc runtime and the host agent, all in this process
// (the container shims are the C cmd/pacific-shim, built into the run's
// temporary dir by hack/build-shim.sh, or with -shim self this executable
// re-run with "shim", the Go shim). With the image already cached it
// creates pods one after another and then a batch at once, timing each
// until a Watch shows status.phase Running (from its Create; in the batch,
// from the moment all were asked for), and compares them with bare
// `runc run -d` of the same bundle (the config.json the runtime wrote for a
// pod's container, on a rootfs from the same image), one after another and
// a batch at once. Next to wall times it reports the CPU time everything
// used per start. It prints a table and ends with
//
//	RESULT podstart_p50_ms=<x> podstart_p99_ms=<x> runtime_p99_ms=<x> podstart_p99_ratio=<ours/bare>
//
// See README.md for what it needs.
package main
