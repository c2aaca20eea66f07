package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/openpacific/pacific/internal/audit"
	"github.com/openpacific/pacific/internal/grpcserver"
	"github.com/openpacific/pacific/internal/natsauth"
	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/sdk/apis"
	adminv1 "github.com/openpacific/pacific/sdk/gen/pacific/admin/v1"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	storev1 "github.com/openpacific/pacific/sdk/gen/pacific/internalapi/store/v1"
	"github.com/openpacific/pacific/services/apiserver/admin"
	"github.com/openpacific/pacific/services/apiserver/eviction"
	"github.com/openpacific/pacific/services/apiserver/feed"
	"github.com/openpacific/pacific/services/apiserver/kinds"
	"github.com/openpacific/pacific/services/apiserver/nodeauth"
	"github.com/openpacific/pacific/services/apiserver/podproxy"
	"github.com/openpacific/pacific/services/apiserver/rbac"
	"github.com/openpacific/pacific/services/apiserver/resource"
	"github.com/openpacific/pacific/services/apiserver/store"
)

// Config configures one replica.
type Config struct {
	// ID is the replica's stable Raft identity (default "apiserver-0").
	ID      string
	DataDir string
	// Listen is the gRPC address for clients and other replicas.
	Listen string
	// RaftAddr is the Raft transport address (default 127.0.0.1:0). Keep it
	// stable across restarts of a multi-replica cluster.
	RaftAddr string
	// Listener and RaftListener, when set, are already bound sockets used
	// instead of Listen and RaftAddr (tests bind them first so that no
	// other process can take the port between choosing and binding it).
	Listener     net.Listener
	RaftListener net.Listener
	Bootstrap    bool
	Peers        []store.Peer
	// TLS is this replica's certificate (identity system:apiserver:<id> in
	// group system:apiservers) and the cluster CA; required. Clients,
	// replicas and the Raft transport all use TLS; plaintext is refused.
	TLS *pki.Bundle
	// NATSURL enables the change feed to JetStream when set. With a tls://
	// URL the replica connects with its TLS certificate.
	NATSURL string
	// NATSOptions are extra connection options (credentials, TLS).
	NATSOptions []nats.Option
	Logger      *slog.Logger
	// AuditFile is the audit log (JSON lines, rotated at AuditMaxBytes,
	// default 100 MiB); "" keeps audit events only on NATS (when NATSURL is
	// set) or nowhere.
	AuditFile     string
	AuditMaxBytes int64
	// ShutdownTimeout bounds the graceful drain (default 10s).
	ShutdownTimeout time.Duration
	// MaxObjectBytes caps one stored object (0: 1.5 MiB).
	MaxObjectBytes int
	// Auth turns on authentication and RBAC on every call. nil serves
	// every caller unauthenticated and unchecked: only for tests of the
	// store and for benchmark baselines; cmd/pacific always sets it.
	Auth AuthFunc
	// Store tuning, mostly for tests.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	EventWindow       int
	HeartbeatTimeout  time.Duration
}

// Server is one running replica.
type Server struct {
	cfg    Config
	logger *slog.Logger
	lis    net.Listener
	grpc   *grpcserver.Server
	store  *store.Store
	feed   *feed.Publisher
	pods   *podproxy.Proxy
	nc     *nats.Conn
	audit  *audit.Logger
	rbac   *rbac.Authorizer
	// authRun is AuthHooks.Run.
	authRun func(context.Context)
	once    sync.Once
}

// New opens the store and binds the listener; Run serves.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	defer func() {
		if err != nil { // given listeners are ours to close, like our own
			for _, l := range []net.Listener{cfg.Listener, cfg.RaftListener} {
				if l != nil {
					l.Close()
				}
			}
		}
	}()
	if cfg.DataDir == "" {
		return nil, errors.New("apiserver: data dir is required")
	}
	if cfg.ID == "" {
		cfg.ID = "apiserver-0"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = "127.0.0.1:0"
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.TLS == nil {
		return nil, errors.New("apiserver: TLS (CA and replica certificate) is required")
	}
	tlsConf, err := newTLSConfigs(cfg.TLS)
	if err != nil {
		return nil, err
	}
	storeLogger := logger.With("component", "store")
	logger = logger.With("component", "apiserver", "replica", cfg.ID)
	reg, err := kinds.NewRegistry()
	if err != nil {
		return nil, err
	}
	lis := cfg.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("apiserver: listen on %s: %w", cfg.Listen, err)
		}
	}
	peerCreds := &lazyCredentials{}
	st, err := store.Open(ctx, store.Config{
		ID:                cfg.ID,
		DataDir:           filepath.Join(cfg.DataDir, "store"),
		RaftAddr:          cfg.RaftAddr,
		RaftListener:      cfg.RaftListener,
		APIAddr:           lis.Addr().String(),
		Bootstrap:         cfg.Bootstrap,
		Peers:             cfg.Peers,
		SnapshotThreshold: cfg.SnapshotThreshold,
		TrailingLogs:      cfg.TrailingLogs,
		EventWindow:       cfg.EventWindow,
		HeartbeatTimeout:  cfg.HeartbeatTimeout,
		Logger:            storeLogger,
		RaftServerTLS:     tlsConf.raftServer,
		RaftClientTLS:     tlsConf.raftClient,
		DialOptions:       []grpc.DialOption{grpc.WithPerRPCCredentials(peerCreds), grpc.WithTransportCredentials(credentials.NewTLS(tlsConf.replicaClient))},
	})
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("apiserver: open store: %w", err)
	}
	s := &Server{cfg: cfg, logger: logger, lis: lis, store: st}
	gcfg := grpcserver.Config{
		Logger:       logger,
		ExtraOptions: []grpc.ServerOption{grpc.Creds(credentials.NewTLS(tlsConf.api))},
		// s.audit is set below, before serving starts.
		OnCallDone: func(ctx context.Context, call grpcserver.CallInfo) {
			if s.audit != nil {
				auditCall(s.audit, reg)(ctx, call)
			}
		},
	}
	res := resource.New(resource.Config{Registry: reg, Store: st, Logger: logger, MaxObjectBytes: cfg.MaxObjectBytes})
	var hooks AuthHooks
	if cfg.Auth != nil {
		if hooks, err = cfg.Auth(ctx, AuthEnv{ReplicaID: cfg.ID, Records: &Records{st: st}}); err != nil {
			s.closeStore()
			lis.Close()
			return nil, fmt.Errorf("apiserver: auth: %w", err)
		}
		if hooks.PeerCredentials != nil {
			peerCreds.creds.Store(&hooks.PeerCredentials)
		}
		s.rbac = rbac.New(reg, st, logger)
		s.authRun = hooks.Run
		// A verified client certificate (services, host agents) first,
		// then bearer tokens (decision 0013).
		gcfg.Authenticator = grpcserver.Chain(grpcserver.ClientCertAuthenticator(), hooks.Authenticator)
		gcfg.PublicMethods = hooks.PublicMethods
		gcfg.Authorizer = grpcserver.Union(append([]grpcserver.Authorizer{nodeAuthorizer(res)}, append(hooks.Authorizers, s.rbac)...)...)
		gcfg.Attributes = rbac.NewAttributes(reg).Describe
		gcfg.OnDecision = hooks.OnDecision
		gcfg.Reflection = true
	}
	s.grpc = grpcserver.New(gcfg)
	if cfg.Auth != nil {
		authv1.RegisterAccessServiceServer(s.grpc, rbac.NewAccessService(reg, gcfg.Authorizer))
		if hooks.Register != nil {
			hooks.Register(s.grpc)
		}
	}
	corev1.RegisterResourceServiceServer(s.grpc, res)
	corev1.RegisterDiscoveryServiceServer(s.grpc, res)
	s.pods = podproxy.New(res, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf.agentClient)))
	corev1.RegisterPodServiceServer(s.grpc, s.pods)
	corev1.RegisterEvictionServiceServer(s.grpc, eviction.New(res, logger))
	adminv1.RegisterAdminServiceServer(s.grpc, admin.New(st))
	storev1.RegisterStoreServiceServer(s.grpc, st.InternalServer())

	if cfg.NATSURL != "" {
		opts := []nats.Option{nats.Name("pacific-apiserver-" + cfg.ID), nats.MaxReconnects(-1)}
		if strings.HasPrefix(cfg.NATSURL, "tls://") {
			// The replica's certificate is its NATS identity (internal/natsauth).
			secure, err := natsauth.ClientOptions(tlsConf.natsClient)
			if err != nil {
				s.closeStore()
				lis.Close()
				return nil, fmt.Errorf("apiserver: %w", err)
			}
			opts = append(opts, secure...)
		}
		nc, err := nats.Connect(cfg.NATSURL, append(opts, cfg.NATSOptions...)...)
		if err != nil {
			s.closeStore()
			lis.Close()
			return nil, fmt.Errorf("apiserver: connect to NATS at %s: %w", cfg.NATSURL, err)
		}
		s.nc = nc
		s.feed, err = feed.New(feed.Config{NATS: nc, Source: st, Encode: res.EncodeEvent, Logger: logger})
		if err != nil {
			nc.Close()
			s.closeStore()
			lis.Close()
			return nil, err
		}
	}
	if cfg.AuditFile != "" || s.nc != nil {
		s.audit, err = audit.New(ctx, audit.Config{File: cfg.AuditFile, MaxFileBytes: cfg.AuditMaxBytes, NATS: s.nc, Logger: logger})
		if err != nil {
			if s.nc != nil {
				s.nc.Close()
			}
			s.closeStore()
			lis.Close()
			return nil, fmt.Errorf("apiserver: audit log: %w", err)
		}
	}
	return s, nil
}

// Addr is the gRPC address clients dial.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Store exposes the replica's store (tests, benchmarks, admin tools).
func (s *Server) Store() *store.Store { return s.store }

// Run serves until ctx ends, then drains within the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.lis) }()
	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
	if s.authRun != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.authRun(feedCtx)
		}()
	}
	if s.rbac != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.rbac.Run(feedCtx)
		}()
	}
	if s.feed != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.feed.Run(feedCtx); err != nil && !errors.Is(err, context.Canceled) {
				s.logger.Error("change feed stopped", "err", err)
			}
		}()
	}
	s.logger.Info("serving", "addr", s.Addr(), "raft", s.store.RaftAddr())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	s.grpc.Stop(stopCtx)
	stopFeed()
	wg.Wait()
	s.Close()
	if serveErr != nil {
		return fmt.Errorf("apiserver: serve: %w", serveErr)
	}
	return nil
}

// Close releases the store, NATS and the listener. Run calls it; call it
// directly only for a server that was never run (or to simulate a crash).
func (s *Server) Close() {
	s.once.Do(func() {
		s.grpc.Server.Stop()
		if s.pods != nil {
			s.pods.Close()
		}
		if s.audit != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.audit.Close(ctx); err != nil {
				s.logger.Warn("closing audit log", "err", err)
			}
			cancel()
		}
		if s.nc != nil {
			s.nc.Close()
		}
		s.closeStore()
		s.lis.Close()
	})
}

func (s *Server) closeStore() {
	if err := s.store.Close(); err != nil {
		s.logger.Warn("closing store", "err", err)
	}
}

// nodeAuthorizer limits host agents to their own Host, Lease, pods and the
// secrets those pods use, reading pods straight from the store.
func nodeAuthorizer(res *resource.Service) *nodeauth.Authorizer {
	get := func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
		resp, err := res.Get(ctx, &corev1.GetRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: ns, Name: name})
		if err != nil {
			return nil, err
		}
		pod := &corev1.Pod{}
		if err := resp.GetObject().UnmarshalTo(pod); err != nil {
			return nil, err
		}
		return pod, nil
	}
	list := func(ctx context.Context, ns, host string) ([]*corev1.Pod, error) {
		var out []*corev1.Pod
		req := &corev1.ListRequest{ApiVersion: apis.CoreV1, Kind: "Pod", Namespace: ns, FieldSelector: "spec.nodeName=" + host}
		err := resource.ListEach(ctx, res.List, req, func(item *anypb.Any) error {
			pod := &corev1.Pod{}
			if err := item.UnmarshalTo(pod); err != nil {
				return err
			}
			out = append(out, pod)
			return nil
		})
		return out, err
	}
	return nodeauth.New(get, list)
}
