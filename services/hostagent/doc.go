// Package hostagent is Pacific's host agent (the "spherelet"): one per
// host, it registers the Host, renews the host's Lease, and drives every
// Pod bound to the host (spec.nodeName) toward its spec, level-based.
//
// # Loops
//
//   - Host: creates or updates the Host named Config.HostName from the real
//     machine (CPU, memory, disk, kernel, runtimes) with condition Ready, and
//     refreshes it when it changes (HostStatusInterval).
//   - Lease: renews Lease <host> in namespace pacific-system every
//     RenewInterval; its renewTime is the host's heartbeat.
//   - Pods: a List+Watch of Pods (all namespaces) enqueues the pods bound to
//     this host, the keys of local sandboxes (so pods deleted while the agent
//     was down are cleaned up) and, every Resync, all of them again. Exits,
//     probe results, pulls and stops enqueue their pod too. Reconcile reads
//     the pod from the API server and the runtime's view of its containers
//     and acts: pull (through Images), create the sandbox, mount the rootfs,
//     create and start containers, restart them with exponential backoff
//     (CrashLoopBackOff), run probes, stop and clean up deleted pods. Status
//     is computed from what it observed and written with UpdateStatus only
//     when it changed.
//
// # Ownership
//
// The agent adds the finalizer pacific.dev/hostagent to a pod before it
// creates anything for it, so a deleted pod stays until its containers are
// stopped (SIGTERM, terminationGracePeriodSeconds, SIGKILL) and its
// sandbox, root filesystems, volumes and logs are removed. A pod deleted
// before the agent started it is never touched.
//
// # Restarts of the agent
//
// Run ends when its context ends without stopping any container: the
// runtime's shims keep them running. A new agent over the same state
// re-adopts them (same PIDs): runtime containers carry the pod UID and
// container name in their labels and are matched to pods; restart counts
// and last states come back from the runtime (attempt numbers) and the
// pod's status.
//
// # Choices
//
//   - Pods are filtered by spec.nodeName on the client for now (a field
//     selector on the watch can replace it).
//   - While the API server is unreachable, Reconcile works from the last
//     version of the pod the watch delivered: crashed containers restart;
//     status and events catch up later.
//   - imagePullPolicy IfNotPresent uses a cached image without asking the
//     registry (as the kubelet does); Always pulls for every run.
//   - The first restart of a crashed container is immediate, then the
//     delay doubles from BackoffBase to BackoffMax (the kubelet's rhythm);
//     a run of BackoffReset or longer starts the count over.
//   - Settings the runtime cannot enforce (privileged, capabilities,
//     unconfined seccomp, host namespaces, unknown volume types) are
//     refused with a clear reason, never silently ignored. Pods with
//     spec.isolation: vm stay Pending with PodScheduled=False
//     (Unschedulable) and a message; nothing is created for them.
//   - Pods have only loopback until the network service exists: HTTP and
//     TCP probes dial 127.0.0.1 inside the pod's network namespace, and
//     status.podIP stays empty.
//
// # What the agent needs
//
// A runtime.Runtime (services/hostagent/runtime; runc in production) and an
// Images implementation: the host's image service. The agent never imports
// another service: cmd/pacific adapts the image service to Images (in
// process, or over its gRPC API once it has one).
//
// Logs use log/slog with component=hostagent.
package hostagent
