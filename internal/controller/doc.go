// Package controller is a small controller-runtime: level-based reconcilers
// fed by a de-duplicating work queue with per-key exponential backoff.
//
// A Reconciler is called with the key of an object that may need work; it
// reads the current state itself (never trusts the event), acts, and returns
// a Result asking to be called again later if needed. Sources (usually a
// List+Watch of a kind) only enqueue keys, so a lost or duplicated event can
// never lose work: the next resync enqueues every key again.
package controller
