// Package namespace finishes Namespace deletion: once a namespace has a
// deletion timestamp, it deletes every namespaced object in it, waits until
// they are gone, then removes the pacific.dev/namespace-contents finalizer so
// the API server deletes the namespace.
package namespace
