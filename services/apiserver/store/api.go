package store

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
)

// Key addresses one object. Kind is the group-kind ("core.pacific.dev/Namespace");
// Namespace is empty for cluster-scoped kinds.
type Key struct {
	Kind      string
	Namespace string
	Name      string
}

// PrivateKindPrefix starts the Kind of keys that belong to a service hosted
// by the API server (token keys, users, revocations): no kind of the
// registry has it, so the resource API never serves them, and the change
// feed never publishes them.
const PrivateKindPrefix = "private."

// Prefix selects objects for List and Watch. An empty Kind selects every
// kind (Watch only); an empty Namespace selects every namespace.
type Prefix struct {
	Kind      string
	Namespace string
}

// Record is one stored object.
type Record struct {
	Key            Key
	Value          []byte
	CreateRevision int64
	// ModRevision is the revision of the last change; it is the object's
	// resource_version.
	ModRevision int64
}

// EventType says what a change did.
type EventType int

const (
	// EventPut created or replaced a key.
	EventPut EventType = iota + 1
	// EventDelete removed a key.
	EventDelete
)

// Event is one committed change. Revisions are Raft log indexes: strictly
// increasing, not contiguous.
type Event struct {
	Type     EventType
	Revision int64
	Key      Key
	// Value after the change; for EventDelete the last stored value.
	Value []byte
	// PrevValue before the change; nil when the key was created.
	PrevValue      []byte
	CreateRevision int64
}

// ReadOptions tune a read.
type ReadOptions struct {
	// Stale serves from the local replica without confirming leadership.
	Stale bool
}

// ListOptions tune a List.
type ListOptions struct {
	Stale bool
	// Limit caps the page; 0 means no limit.
	Limit int
	// After continues a previous page: only keys sorted after this
	// "namespace/name" are returned.
	After string
	// Revision reads the snapshot at this revision (from a previous page);
	// 0 reads the current state. ErrCompacted if it is no longer retained.
	Revision int64
}

// ListResult is one page.
type ListResult struct {
	Records []Record
	// Revision the page is consistent with.
	Revision int64
	// More is true when records remain after the last one returned.
	More bool
}

// Member is one replica.
type Member struct {
	ID       string
	RaftAddr string
	APIAddr  string
	Leader   bool
	Voter    bool
}

// Peer is an initial member given in configuration.
type Peer struct {
	ID       string
	RaftAddr string
	APIAddr  string
}

// Errors returned by the store; callers test them with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrConflict       = errors.New("revision conflict")
	ErrCompacted      = errors.New("revision compacted")
	ErrNoLeader       = errors.New("no leader")
	ErrWatcherTooSlow = errors.New("watcher too slow")
	// ErrClosed is returned by calls on a closed store and ends its watches.
	ErrClosed = errors.New("store closed")
	// ErrIndeterminate means a write reached a leader that lost leadership
	// (or became unreachable) before confirming it: the change may or may
	// not have been committed. Read the key before retrying. In gRPC terms
	// this is like DeadlineExceeded, not Unavailable (not safe to retry
	// blindly).
	ErrIndeterminate = errors.New("write outcome unknown")
)

// AfterKey is the ListOptions.After value that continues a listing after k.
func AfterKey(k Key) string { return k.Namespace + "/" + k.Name }

// Config configures one replica.
type Config struct {
	// ID is the replica's stable identity (Raft server ID).
	ID      string
	DataDir string
	// RaftAddr is the TCP address the Raft transport binds and advertises.
	// A port of 0 picks a free one; RaftAddr() tells which.
	RaftAddr string
	// APIAddr is this replica's gRPC address, where other replicas forward
	// writes and ask for read indexes.
	APIAddr string
	// Bootstrap starts a new cluster with Peers as voters (just this replica
	// when Peers is empty) if the data dir holds no state yet.
	Bootstrap bool
	Peers     []Peer
	// SnapshotThreshold and TrailingLogs bound the Raft log (0: defaults).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// EventWindow is how many recent changes are kept for Watch (0: default).
	EventWindow int
	// WatchBuffer is the per-watch channel size before it is cut (0: default).
	WatchBuffer int
	// HeartbeatTimeout etc. default to values tuned for loopback/LAN.
	HeartbeatTimeout time.Duration
	Logger           *slog.Logger

	// RaftAdvertiseAddr is the Raft address other replicas dial, when it
	// differs from the bound one (e.g. RaftAddr is 0.0.0.0:7000).
	RaftAdvertiseAddr string
	// RaftListener, when set, is used instead of listening on RaftAddr
	// (tests pre-allocate ports this way).
	RaftListener net.Listener
	// RaftServerTLS and RaftClientTLS secure the Raft transport (both or
	// neither): inbound connections must complete a TLS handshake with
	// RaftServerTLS before Raft reads a byte, and dials use RaftClientTLS.
	RaftServerTLS *tls.Config
	RaftClientTLS *tls.Config
	// DialOptions are appended to the defaults (plaintext, short reconnect
	// backoff) for gRPC connections to other replicas; pass transport
	// credentials here for mTLS.
	DialOptions []grpc.DialOption
	// LeaderWaitTimeout bounds how long a call waits for a usable leader
	// before failing with ErrNoLeader (0: 10s). The call's context can end
	// the wait sooner.
	LeaderWaitTimeout time.Duration
	// SnapshotInterval is how often Raft checks SnapshotThreshold (0: 30s).
	SnapshotInterval time.Duration
	// WALSegmentBytes is the size of a preallocated WAL segment file
	// (0: raft-wal's default, 64 MiB).
	WALSegmentBytes int
	// RaftLogLevel is the least severe Raft/WAL log message passed on to
	// Logger (nil: slog.LevelWarn).
	RaftLogLevel slog.Leveler
	// ListSnapshots caps the List page snapshots kept for continuation
	// (0: 64); ListSnapshotTTL is how long one is kept (0: 5 minutes).
	ListSnapshots   int
	ListSnapshotTTL time.Duration
}
