// Package storetest runs store replicas in one process for tests: real
// Raft on loopback TCP, data in t.TempDir(), and one gRPC server per
// replica serving the store's internal API on its APIAddr.
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Timeouts tuned for loopback on slow shared CI machines.
const (
	HeartbeatTimeout = 400 * time.Millisecond
	// WaitTimeout bounds every wait of the helpers.
	WaitTimeout = 15 * time.Second
)

// Option changes how replicas are configured or served.
type Option func(*options)

type options struct {
	config   []func(*store.Config)
	register []func(*Replica, *grpc.Server)
}

// WithConfig edits every replica's Config before it opens (on every
// restart too).
func WithConfig(f func(*store.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithRegister registers more services on a replica's gRPC server before
// it serves (on every restart too), e.g. the API server's services.
func WithRegister(f func(*Replica, *grpc.Server)) Option {
	return func(o *options) { o.register = append(o.register, f) }
}

// Cluster is a set of replicas.
type Cluster struct {
	t    testing.TB
	opts options

	mu       sync.Mutex
	replicas []*Replica
}

// Replica is one member. Its addresses stay the same across restarts.
type Replica struct {
	ID       string
	DataDir  string
	RaftAddr string
	APIAddr  string
	// Bootstrap and Peers as the replica was first configured.
	Bootstrap bool
	Peers     []store.Peer

	mu    sync.Mutex
	store *store.Store
	srv   *grpc.Server
}

// Store is the running store (nil while stopped).
func (r *Replica) Store() *store.Store {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.store
}

// Logger is what replicas log to: nothing, unless PACIFIC_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("PACIFIC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// NewCluster starts n replicas bootstrapped as one cluster and closes them
// when the test ends. It does not wait for a leader (see Leader).
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for _, o := range opts {
		o(&c.opts)
	}
	t.Cleanup(c.Close)
	var peers []store.Peer
	raftLis := make([]net.Listener, n)
	apiLis := make([]net.Listener, n)
	for i := range n {
		raftLis[i] = listen(t, "127.0.0.1:0")
		apiLis[i] = listen(t, "127.0.0.1:0")
		peers = append(peers, store.Peer{
			ID:       fmt.Sprintf("r%d", i),
			RaftAddr: raftLis[i].Addr().String(),
			APIAddr:  apiLis[i].Addr().String(),
		})
	}
	for i, p := range peers {
		r := &Replica{
			ID: p.ID, DataDir: filepath.Join(t.TempDir(), p.ID),
			RaftAddr: p.RaftAddr, APIAddr: p.APIAddr,
			Bootstrap: true, Peers: peers,
		}
		c.mu.Lock()
		c.replicas = append(c.replicas, r)
		c.mu.Unlock()
		c.start(r, raftLis[i], apiLis[i])
	}
	return c
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	var err error
	// A just-closed port can stay busy for a moment; retry briefly.
	deadline := time.Now().Add(WaitTimeout)
	for {
		if l, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return l
}

// Config is the Config replica r opens with.
func (c *Cluster) Config(r *Replica) store.Config {
	cfg := store.Config{
		ID:               r.ID,
		DataDir:          r.DataDir,
		RaftAddr:         r.RaftAddr,
		APIAddr:          r.APIAddr,
		Bootstrap:        r.Bootstrap,
		Peers:            r.Peers,
		HeartbeatTimeout: HeartbeatTimeout,
		WALSegmentBytes:  4 << 20,
		Logger:           Logger(),
	}
	if os.Getenv("PACIFIC_TEST_LOG") != "" {
		cfg.RaftLogLevel = slog.LevelDebug
	}
	for _, f := range c.opts.config {
		f(&cfg)
	}
	return cfg
}

func (c *Cluster) start(r *Replica, raftLis, apiLis net.Listener) {
	c.t.Helper()
	cfg := c.Config(r)
	cfg.RaftListener = raftLis
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		raftLis.Close()
		apiLis.Close()
		c.t.Fatalf("open replica %s: %v", r.ID, err)
	}
	srv := grpc.NewServer()
	storev1.RegisterStoreServiceServer(srv, st.InternalServer())
	for _, f := range c.opts.register {
		f(r, srv)
	}
	go func() { _ = srv.Serve(apiLis) }()
	r.mu.Lock()
	r.store, r.srv = st, srv
	r.mu.Unlock()
}

// Replicas returns every replica, running or not.
func (c *Cluster) Replicas() []*Replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Replica(nil), c.replicas...)
}

// Running returns the running replicas.
func (c *Cluster) Running() []*Replica {
	var out []*Replica
	for _, r := range c.Replicas() {
		if r.Store() != nil {
			out = append(out, r)
		}
	}
	return out
}

// Leader waits until a running replica is the ready leader and every
// running replica knows a leader, and returns it.
func (c *Cluster) Leader() *Replica {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	for {
		var leader *Replica
		known := true
		for _, r := range c.Running() {
			st := r.Store()
			if st == nil {
				continue
			}
			if st.IsLeader() {
				leader = r
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Millisecond)
			if st.WaitLeader(wctx) != nil {
				known = false
			}
			wcancel()
		}
		if leader != nil && known {
			return leader
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("no leader among %d running replicas within %s", len(c.Running()), WaitTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Followers returns the running replicas that are not the ready leader.
func (c *Cluster) Followers() []*Replica {
	var out []*Replica
	for _, r := range c.Running() {
		if st := r.Store(); st != nil && !st.IsLeader() {
			out = append(out, r)
		}
	}
	return out
}

// Stop stops a replica's gRPC server and closes its store (a crash as
// far as the others can tell; the data dir stays).
func (c *Cluster) Stop(r *Replica) {
	c.t.Helper()
	r.mu.Lock()
	st, srv := r.store, r.srv
	r.store, r.srv = nil, nil
	r.mu.Unlock()
	if st == nil {
		return
	}
	srv.Stop()
	if err := st.Close(); err != nil {
		c.t.Errorf("close replica %s: %v", r.ID, err)
	}
}

// Restart starts a stopped replica again on the same addresses and data.
func (c *Cluster) Restart(r *Replica) {
	c.t.Helper()
	if r.Store() != nil {
		c.t.Fatalf("replica %s is running", r.ID)
	}
	c.start(r, listen(c.t, r.RaftAddr), listen(c.t, r.APIAddr))
}

// AddReplica starts a new, empty replica that is not yet a member: make it
// one with AddMember(ctx, r.Member()) on any running replica.
func (c *Cluster) AddReplica() *Replica {
	c.t.Helper()
	c.mu.Lock()
	id := fmt.Sprintf("r%d", len(c.replicas))
	c.mu.Unlock()
	raftLis, apiLis := listen(c.t, "127.0.0.1:0"), listen(c.t, "127.0.0.1:0")
	r := &Replica{
		ID: id, DataDir: filepath.Join(c.t.TempDir(), id),
		RaftAddr: raftLis.Addr().String(), APIAddr: apiLis.Addr().String(),
	}
	c.mu.Lock()
	c.replicas = append(c.replicas, r)
	c.mu.Unlock()
	c.start(r, raftLis, apiLis)
	return r
}

// Member describes r for AddMember.
func (r *Replica) Member() store.Member {
	return store.Member{ID: r.ID, RaftAddr: r.RaftAddr, APIAddr: r.APIAddr}
}

// Close stops every replica (in parallel).
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, r := range c.Replicas() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Stop(r)
		}()
	}
	wg.Wait()
}
