// Package record writes Events about objects for the controllers: one
// Event per occurrence, best effort (a failed write is logged, never fails
// the reconcile). Events of cluster-scoped objects go to the default
// namespace, as in Kubernetes.
package record
