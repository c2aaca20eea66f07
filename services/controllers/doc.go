// Package controllers runs Pacific's level-based controllers (namespace
// lifecycle first; deployments, garbage collection, VMs and guest clusters
// join later). Each controller is a Reconcile(ctx, key) over keys fed by a
// List+Watch through the public API; the package talks to the API server
// over gRPC only.
package controllers
