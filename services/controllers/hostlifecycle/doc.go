// Package hostlifecycle watches host heartbeats and maintenance mode.
//
// A host's agent renews the Lease pacific-system/<host>. When the
// controller has not seen a renewal for MonitorGrace (default 40 s; the
// lease's own duration if that is longer), it sets
// the Host's Ready condition to Unknown (reason HostLeaseExpired); when the
// host has stayed not Ready for EvictionTimeout (default 300 s), it deletes
// the pods bound there (reason Evicted, with an event) so their
// Deployments recreate them elsewhere. Renewals are timed with the
// controller's own clock when it sees them (as Kubernetes does), so clock
// skew between hosts and control plane does not matter. While a host is
// Unknown its pods are marked Ready=False (reason HostNotReady), so they
// stop counting as available. A renewed lease sets Ready back to True.
//
// A Host with spec.maintenance is drained through the eviction API (each
// Deployment keeps its availability; replacements start first when
// needed), and its Maintenance condition tells the progress: Draining,
// DrainBlocked (pods without an owner, which would not come back), then
// InMaintenance once no pod is bound there.
package hostlifecycle
