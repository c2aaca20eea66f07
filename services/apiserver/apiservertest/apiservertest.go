package apiservertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Options tune the servers started.
type Options struct {
	// NATSURL enables the change feed.
	NATSURL string
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Tweak adjusts each replica's config before start.
	Tweak func(*apiserver.Config)
}

// Start runs a single-replica API server and returns its address.
func Start(t testing.TB) string {
	t.Helper()
	return StartCluster(t, 1, Options{})[0].Addr()
}

// Replica is one running server of a test cluster.
type Replica struct {
	*apiserver.Server
	Config apiserver.Config
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Stop shuts the replica down (gracefully) and waits for it. Safe to call
// more than once.
func (r *Replica) Stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// StartCluster runs n replicas bootstrapped together and waits for a leader.
func StartCluster(t testing.TB, n int, opts Options) []*Replica {
	t.Helper()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
		if os.Getenv("PACIFIC_TEST_LOG") != "" {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	peers := make([]store.Peer, n)
	for i := range n {
		api := freePort(t)
		raft := freePort(t)
		peers[i] = store.Peer{ID: fmt.Sprintf("r%d", i), RaftAddr: raft, APIAddr: api}
	}
	replicas := make([]*Replica, n)
	for i := range n {
		cfg := apiserver.Config{
			ID:               peers[i].ID,
			DataDir:          t.TempDir(),
			Listen:           peers[i].APIAddr,
			RaftAddr:         peers[i].RaftAddr,
			Bootstrap:        true,
			Peers:            peers,
			NATSURL:          opts.NATSURL,
			Logger:           logger,
			HeartbeatTimeout: time.Second, // generous: CI machines are small and busy
			ShutdownTimeout:  5 * time.Second,
		}
		if n == 1 {
			cfg.Peers = nil
		}
		if opts.Tweak != nil {
			opts.Tweak(&cfg)
		}
		replicas[i] = Run(t, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range replicas {
		if err := r.Store().WaitLeader(ctx); err != nil {
			t.Fatalf("apiservertest: no leader: %v", err)
		}
	}
	return replicas
}

// Run starts one replica with cfg and stops it at test cleanup.
func Run(t testing.TB, cfg apiserver.Config) *Replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := apiserver.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("apiservertest: start %s: %v", cfg.ID, err)
	}
	r := &Replica{Server: srv, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(r.Stop)
	return r
}

// freePort reserves a loopback port. The tiny window before the server binds
// it again is acceptable in tests; fixed addresses are needed because Raft
// peers must know each other's addresses up front.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apiservertest: reserve port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
