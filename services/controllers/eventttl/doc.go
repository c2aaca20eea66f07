// Package eventttl deletes Events that have not recurred for a TTL
// (default 1h), as Kubernetes' API server expires them: Events are recent
// history for `describe`, not a log, and without a TTL they would fill the
// store of a long-running cluster.
package eventttl
