// Package drain empties a host for maintenance, as `pacctl host drain`
// does: it refuses when pods without an owner run there (they would not
// come back anywhere; Force deletes them anyway), cordons the host, and
// evicts every pod through the API server's EvictionService, which keeps
// each Deployment within its maxUnavailable by starting replacements
// first. It reports progress as lines and returns once no pod is bound to
// the host any more.
package drain
