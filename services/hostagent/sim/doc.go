// Package sim simulates many hosts in one process, for scale tests and
// demos: the "sim" runtime. It is never the default and every Host it
// registers carries the label pacific.dev/simulated=true.
//
// A Fleet shares one pod watch and one lease renewer among all its hosts.
// Each simulated host registers its Host (capacity from its HostConfig,
// runtime "sim", condition Ready=True), renews its Lease
// pacific-system/<host> like a real agent, and writes the status of the
// pods bound to it as a real agent would once their containers run
// (phase Running, every container running and ready, conditions True) —
// without running anything.
//
// Stop(host) simulates a host agent that died: its Lease is no longer
// renewed and its pods' statuses are no longer touched. Start(host)
// brings it back: the Host is Ready again, the Lease renewed, and the host
// only "runs" the pods that are still bound to it (pods evicted meanwhile
// are forgotten, so nothing runs twice).
//
// Unlike the real agent, simulated hosts add no finalizer: a deleted pod
// disappears at once (there is nothing to clean up).
package sim
