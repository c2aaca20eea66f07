// Package runtime defines the interface the host agent drives to run a pod:
// one sandbox per pod (the namespaces its containers share) plus its
// containers, with lifecycle, exit status, exec, logs and re-adoption after
// an agent restart.
//
// Implementations:
//   - runtime/runc: real OCI containers through the runc binary (Linux, root).
//
// Errors: implementations wrap the sentinel errors of this package so callers
// can map them with errors.Is: ErrNotFound → NotFound, ErrNotRunning →
// FailedPrecondition (e.g. exec into a stopped container), ErrAlreadyExists →
// AlreadyExists, ErrStartFailed → the container terminated with reason
// StartError and exit code 128 (as containerd/CRI report it).
//
// Logs are kept per sandbox/container name/attempt in the CRI format
// (RFC3339Nano timestamp, stream, P|F tag, content), size-bounded with
// rotation; see package runtime/logs.
package runtime
