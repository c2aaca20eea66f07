// Package events is the contract of Pacific's change feed: the JetStream
// stream the API server leader publishes every committed change to, and how
// every consumer reads it. Publisher and consumers both use this package, so
// the names below are the whole wire contract.
//
// # Stream
//
// One stream, PACIFIC_EVENTS (file storage, discard old, bounded age and
// size, a 2-minute duplicate window), holding subjects
//
//	pacific.v1.events.<kind>.<namespace>
//
// <kind> is the lowercase kind without its group ("core.pacific.dev/Namespace"
// → "namespace"); <namespace> is the object's namespace, or "_" for
// cluster-scoped objects. The full group-kind travels in a header.
//
// # Messages
//
// One message per committed change, in strictly increasing revision order,
// with no gaps other than those the store's revision numbering has (revisions
// are Raft log indexes: increasing, not contiguous):
//
//	Nats-Msg-Id       the revision in decimal (JetStream deduplicates on it)
//	Pacific-Revision  the revision in decimal
//	Pacific-Kind      the group-kind, e.g. core.pacific.dev/Namespace
//	Pacific-Type      ADDED, MODIFIED or DELETED
//
// The payload is a protobuf pacific.core.v1.WatchResponse: type, the object
// as an Any with metadata.resource_version stamped, and resource_version.
//
// # Resync markers
//
// If the feed could not publish some changes (the store no longer retained
// them when a new leader took over), the publisher writes a marker on
// pacific.v1.events._resync._ with Pacific-Type RESYNC, Pacific-Revision R
// and Nats-Msg-Id "resync-R", and continues with the changes after R. A
// consumer that sees a marker MUST relist what it cares about from the API
// (List, then Watch from the list's resource_version), because changes up to
// R may be missing from the stream. Decode reports a marker as ErrResync.
// Consumers that filter by kind or namespace must also subscribe to
// ResyncSubject; ConsumerFilters returns both filters.
//
// Events tell a consumer THAT something changed; what to do is decided by
// reading the store (level-based). Consumers must tolerate replays (the same
// revision seen again after a consumer restarts) by tracking the last
// revision they handled.
//
// Servers carrying the feed need sync_interval: always (acked changes survive
// a crash) and max_payload of at least 4 MiB (objects may be 1.5 MiB).
package events
