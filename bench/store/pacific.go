package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsembed"
	"github.com/openpacific/pacific/internal/pki"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// pacificCluster is 3 API server replicas in this process on loopback,
// optionally with the change feed to an embedded NATS server.
type pacificCluster struct {
	replicas []*apiserver.Server
	cancel   context.CancelFunc
	done     []chan error
	nats     *natsembed.Server
	log      *slog.Logger
	stopOnce sync.Once
	// ca signs the replicas' certificates; clients trusts it.
	ca *pki.CA
}

func startPacific(ctx context.Context, dir string, n int, withFeed bool, log *slog.Logger) (*pacificCluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	ca, err := pki.NewCA("bench-store-ca")
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &pacificCluster{cancel: cancel, log: log, ca: ca}
	natsURL := ""
	if withFeed {
		c.nats, err = natsembed.Start(ctx, natsembed.Config{StoreDir: filepath.Join(dir, "nats"), Logger: log})
		if err != nil {
			c.stop()
			return nil, err
		}
		natsURL = c.nats.ClientURL()
	}
	peers := make([]store.Peer, n)
	for i := range n {
		peers[i] = store.Peer{
			ID:       fmt.Sprintf("r%d", i),
			APIAddr:  fmt.Sprintf("127.0.0.1:%d", ports[2*i]),
			RaftAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
		}
	}
	for i := range n {
		cfg := apiserver.Config{
			ID:        peers[i].ID,
			DataDir:   filepath.Join(dir, "pacific-"+peers[i].ID),
			Listen:    peers[i].APIAddr,
			RaftAddr:  peers[i].RaftAddr,
			Bootstrap: true,
			Peers:     peers,
			NATSURL:   natsURL,
			Logger:    log,
		}
		if n == 1 {
			cfg.Peers = nil
		}
		if cfg.TLS, err = ca.LoopbackBundle(grpcserver.APIServerUserPrefix+cfg.ID, grpcserver.GroupAPIServers); err != nil {
			c.stop()
			return nil, err
		}
		srv, err := apiserver.New(ctx, cfg)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("start replica %s: %w", cfg.ID, err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Run(runCtx) }()
		c.replicas = append(c.replicas, srv)
		c.done = append(c.done, done)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	for _, r := range c.replicas {
		if err := r.Store().WaitLeader(wctx); err != nil {
			c.stop()
			return nil, fmt.Errorf("wait for a leader: %w", err)
		}
	}
	// Wait until one replica is the ready leader.
	for c.leader() < 0 {
		if wctx.Err() != nil {
			c.stop()
			return nil, errors.New("no ready leader within 30s")
		}
		time.Sleep(20 * time.Millisecond) // polling leadership during start-up
	}
	return c, nil
}

// leader returns the index of the ready leader, or -1.
func (c *pacificCluster) leader() int {
	for i, r := range c.replicas {
		if r.Store().IsLeader() {
			return i
		}
	}
	return -1
}

// endpoints returns the replicas' API addresses, the leader's first.
func (c *pacificCluster) endpoints() []string {
	var eps []string
	l := c.leader()
	if l >= 0 {
		eps = append(eps, c.replicas[l].Addr())
	}
	for i, r := range c.replicas {
		if i != l {
			eps = append(eps, r.Addr())
		}
	}
	return eps
}

// stores returns the replicas' stores, the leader's first.
func (c *pacificCluster) stores() []*store.Store {
	var out []*store.Store
	l := c.leader()
	if l >= 0 {
		out = append(out, c.replicas[l].Store())
	}
	for i, r := range c.replicas {
		if i != l {
			out = append(out, r.Store())
		}
	}
	return out
}

func (c *pacificCluster) stop() {
	c.stopOnce.Do(func() {
		c.cancel()
		for i, d := range c.done {
			select {
			case err := <-d:
				if err != nil {
					c.log.Warn("replica stopped with an error", "replica", i, "error", err)
				}
			case <-time.After(20 * time.Second):
				c.log.Warn("replica did not stop within 20s", "replica", i)
			}
		}
		if c.nats != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.nats.Shutdown(ctx)
		}
	})
}

// apiSystem drives the ResourceService over gRPC: Create of a Namespace
// whose spec.description holds the value, Get (linearizable) for reads.
type apiSystem struct {
	conns   []*grpc.ClientConn
	clients []corev1.ResourceServiceClient
	value   string
	run     string
}

func newAPISystem(endpoints []string, ca *pki.CA, conns, valueSize int, run string) (*apiSystem, error) {
	tlsConfig, err := pki.ClientConfig(ca.CertPEM, pki.Identity{})
	if err != nil {
		return nil, err
	}
	s := &apiSystem{value: string(makeValue(valueSize)), run: run}
	for i := range conns {
		cc, err := grpc.NewClient(endpoints[i%len(endpoints)], grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("dial %s: %w", endpoints[i%len(endpoints)], err)
		}
		s.conns = append(s.conns, cc)
		s.clients = append(s.clients, corev1.NewResourceServiceClient(cc))
	}
	return s, nil
}

func (s *apiSystem) name(i int) string { return fmt.Sprintf("bench-%s-%08d", s.run, i) }

func (s *apiSystem) put(ctx context.Context, client, i int) error {
	obj, err := anypb.New(&corev1.Namespace{
		ApiVersion: "core.pacific.dev/v1",
		Kind:       "Namespace",
		Metadata:   &corev1.ObjectMeta{Name: s.name(i)},
		Spec:       &corev1.NamespaceSpec{Description: s.value},
	})
	if err != nil {
		return err
	}
	_, err = s.clients[client%len(s.clients)].Create(ctx, &corev1.CreateRequest{Object: obj})
	return err
}

func (s *apiSystem) get(ctx context.Context, client, i int) error {
	resp, err := s.clients[client%len(s.clients)].Get(ctx, &corev1.GetRequest{
		ApiVersion: "core.pacific.dev/v1", Kind: "Namespace", Name: s.name(i),
	})
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{}
	if err := resp.GetObject().UnmarshalTo(ns); err != nil {
		return err
	}
	if len(ns.GetSpec().GetDescription()) != len(s.value) {
		return fmt.Errorf("get %s: description of %d bytes, want %d", s.name(i), len(ns.GetSpec().GetDescription()), len(s.value))
	}
	return nil
}

func (s *apiSystem) close() {
	for _, cc := range s.conns {
		cc.Close()
	}
}

// storeSystem calls store.Store directly (no gRPC API, no encoding): the
// store's own cost. Writes on followers are still forwarded to the leader.
type storeSystem struct {
	stores []*store.Store
	value  []byte
	run    string
}

const rawKind = "bench.pacific.dev/Raw"

func (s *storeSystem) key(i int) store.Key {
	return store.Key{Kind: rawKind, Name: fmt.Sprintf("raw-%s-%08d", s.run, i)}
}

func (s *storeSystem) put(ctx context.Context, client, i int) error {
	_, err := s.stores[client%len(s.stores)].Create(ctx, s.key(i), s.value)
	return err
}

func (s *storeSystem) get(ctx context.Context, client, i int) error {
	rec, err := s.stores[client%len(s.stores)].Get(ctx, s.key(i), store.ReadOptions{})
	if err != nil {
		return err
	}
	if len(rec.Value) != len(s.value) {
		return fmt.Errorf("get %v: %d bytes, want %d", s.key(i), len(rec.Value), len(s.value))
	}
	return nil
}

func (s *storeSystem) close() {}
