// Package store is the API server's Raft-replicated key/value store.
//
// Every replica runs hashicorp/raft with raft-wal as log and stable store
// and a FileSnapshotStore for snapshots. The state machine (fsm.go) keeps
// one google/btree per kind in memory, ordered by namespace/name; it is
// deterministic: a log entry is one storev1.CommandType byte followed by a
// protobuf storev1.Command, and the revision of a change is its Raft log
// index.
//
// Writes go to the leader: on the leader through raft.Apply (BatchApplyCh
// batches concurrent writers), on a follower forwarded over the internal
// StoreService gRPC API to the leader's API address (forward.go).
//
// Reads are linearizable unless ReadOptions.Stale is set (readindex.go):
// the leader notes its commit index, confirms leadership with one
// VerifyLeader shared by all reads waiting at that moment, and the reader
// waits until its replica has applied that index. Followers get the index
// from the leader. A new leader serves reads only once an entry of its own
// term (a SET_MEMBER for itself) has been applied.
//
// Every replica keeps a window of the most recent changes for Watch
// (watch.go) and a few cloned trees so List pages stay consistent
// (listcache.go). Membership changes go through the leader (members.go).
//
// Files: store.go (Open/Close), raftlog.go (hclog → slog), command.go
// (log entry encoding), fsm.go and snapshot.go (state machine),
// leader.go (leadership and readiness), readindex.go, forward.go and
// server.go (replica-to-replica calls), kv.go (reads and writes),
// listcache.go, watch.go, members.go, notify.go.
package store
