// Package prefetch is the contract of the image prefetch work queue on NATS
// JetStream: whoever knows a pod will land on a host (the scheduler, a
// rollout) publishes a request on pacific.v1.prefetch.<host>; that host's
// image service consumes it and pulls the image before the pod needs it.
// Work-queue retention: each request is removed once acknowledged.
package prefetch
