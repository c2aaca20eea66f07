// Package audit records who did what: one JSON line per mutation and per
// denied request (time, request id, user, groups, verb, kind,
// namespace/name, result code), appended to a size-bounded rotated file
// and published to the NATS JetStream stream PACIFIC_AUDIT. Events never
// carry request or response bodies, so secrets, tokens and passwords cannot
// reach the audit trail. See docs/decisions/0015-audit-log.md.
package audit
