// Package apiservertest starts real API server replicas in-process for
// tests: real Raft on loopback, data in t.TempDir(), stopped by t.Cleanup.
package apiservertest
