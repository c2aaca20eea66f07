// Package record writes Events about objects, best effort (a failed write
// is logged, never fails the caller's work). Events of cluster-scoped
// objects go to the default namespace, as in Kubernetes.
//
// Recorder writes one Event per occurrence, synchronously: for the
// controllers' rare events (scaling, creating pods). Aggregator is for
// events that repeat or come in bursts (the scheduler's FailedScheduling
// and Scheduled, the host agent's container events): it never blocks the
// caller, folds repeats of the same
// object, type, reason and message into one Event's count, writes one
// object and reason at most once per MinInterval, bounds writes per
// second and what waits in memory, and can hold writes back while its
// owner is busy.
package record
