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

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/testutil"
	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/store"
	"github.com/openpacific/pacific/services/authz"
)

// Options tune the servers started.
type Options struct {
	// NATSURL enables the change feed.
	NATSURL string
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Tweak adjusts each replica's config before start.
	Tweak func(*apiserver.Config)
	// NoAuth serves without authentication and RBAC (store tests,
	// benchmark baselines). By default auth is on, as in production: use
	// Replica.Client for a cluster-admin client, ClientAs for others.
	NoAuth bool
	// TokenTTL shortens tokens (default 15m) for expiry tests.
	TokenTTL time.Duration
	// SSO enables SAML token exchange.
	SSO *authz.SAMLConfig
}

// Start runs a single-replica API server WITHOUT authentication or RBAC
// and returns its address, for tests that are not about access and dial
// it with client.Options{Servers: ..., TLS: testutil.ClientTLS(t, "")}
// (every replica's certificate is from testutil's CA). Prefer StartReplica and
// Replica.Client (cluster admin) or ClientAs (RBAC applies): they test
// what production runs.
func Start(t testing.TB) string {
	t.Helper()
	return StartCluster(t, 1, Options{NoAuth: true})[0].Addr()
}

// StartReplica runs a single-replica API server with authentication and
// RBAC on.
func StartReplica(t testing.TB) *Replica {
	t.Helper()
	return StartCluster(t, 1, Options{})[0]
}

// Replica is one running server of a test cluster.
type Replica struct {
	*apiserver.Server
	Config apiserver.Config
	// Auth is the replica's token service (nil with Options.NoAuth).
	Auth   *authz.Service
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Client returns a cluster-admin (system:masters) client, closed at
// cleanup.
func (r *Replica) Client(t testing.TB) *client.Client {
	t.Helper()
	return r.ClientAs(t, "admin", grpcserver.GroupMasters)
}

// ClientAs returns a client authenticated as user in groups (RBAC
// applies; no groups means only what RoleBindings grant the user).
func (r *Replica) ClientAs(t testing.TB, user string, groups ...string) *client.Client {
	t.Helper()
	c, err := client.New(r.ClientOptionsAs(t, user, groups...))
	if err != nil {
		t.Fatalf("apiservertest: client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ClientOptions are cluster-admin client options for this replica.
func (r *Replica) ClientOptions(t testing.TB) client.Options {
	t.Helper()
	return r.ClientOptionsAs(t, "admin", grpcserver.GroupMasters)
}

// ClientOptionsAs are client options authenticated as user in groups.
func (r *Replica) ClientOptionsAs(t testing.TB, user string, groups ...string) client.Options {
	t.Helper()
	opts := client.Options{Servers: []string{r.Addr()}, TLS: testutil.ClientTLS(t, "")}
	if r.Auth != nil {
		opts.Token = r.Token(t, user, groups...)
	}
	return opts
}

// Token issues an access token for user in groups.
func (r *Replica) Token(t testing.TB, user string, groups ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := r.Auth.IssueWhenReady(ctx, user, groups, 0)
	if err != nil {
		t.Fatalf("apiservertest: %v", err)
	}
	return tok.GetAccessToken()
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
	apiLis, raftLis := make([]net.Listener, n), make([]net.Listener, n)
	for i := range n {
		apiLis[i], raftLis[i] = listen(t), listen(t)
		peers[i] = store.Peer{ID: fmt.Sprintf("r%d", i), RaftAddr: raftLis[i].Addr().String(), APIAddr: apiLis[i].Addr().String()}
	}
	replicas := make([]*Replica, n)
	for i := range n {
		cfg := apiserver.Config{
			ID:               peers[i].ID,
			DataDir:          t.TempDir(),
			Listen:           peers[i].APIAddr,
			RaftAddr:         peers[i].RaftAddr,
			Listener:         apiLis[i],
			RaftListener:     raftLis[i],
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
		if !opts.NoAuth {
			cfg.Auth = AuthFunc(authz.Config{Logger: logger, TokenTTL: opts.TokenTTL, SSO: opts.SSO})
		}
		cfg.TLS = testutil.Bundle(t, grpcserver.APIServerUserPrefix+cfg.ID, grpcserver.GroupAPIServers)
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
	kept := cfg
	kept.Listener, kept.RaftListener = nil, nil // a restart binds the addresses again
	r := &Replica{Config: kept, cancel: cancel, done: make(chan error, 1)}
	if inner := cfg.Auth; inner != nil {
		cfg.Auth = func(ctx context.Context, env apiserver.AuthEnv) (apiserver.AuthHooks, error) {
			h, err := inner(ctx, env)
			r.Auth, _ = h.Authenticator.(*authz.Service)
			return h, err
		}
	}
	srv, err := apiserver.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("apiservertest: start %s: %v", cfg.ID, err)
	}
	r.Server = srv
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(r.Stop)
	return r
}

// AuthFunc wires the token service into a replica the way cmd/pacific
// does. The hooks' Authenticator is the *authz.Service itself, so Run can
// find it.
func AuthFunc(cfg authz.Config) apiserver.AuthFunc {
	return func(_ context.Context, env apiserver.AuthEnv) (apiserver.AuthHooks, error) {
		cfg.Records = env.Records
		s, err := authz.New(cfg)
		if err != nil {
			return apiserver.AuthHooks{}, err
		}
		return apiserver.AuthHooks{
			Authenticator:   s,
			PublicMethods:   authz.PublicMethods(),
			Register:        s.Register,
			PeerCredentials: s.PeerCredentials(env.ReplicaID),
			Run:             s.Run,
		}, nil
	}
}

// listen binds a loopback port now, so that no other process can take it
// between choosing and binding (Raft peers must know each other's
// addresses before any replica starts).
func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apiservertest: listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
