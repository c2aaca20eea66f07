package grpcserver

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// DefaultMaxRecvMsgBytes bounds a request: objects are capped at 1.5 MiB by
// the API server, so 4 MiB leaves room for envelopes without inviting abuse.
const DefaultMaxRecvMsgBytes = 4 << 20

// Config configures a server.
type Config struct {
	Logger *slog.Logger
	// Authenticator identifies callers (use Chain for several kinds of
	// credential); nil treats every caller as anonymous. With one set, a
	// call without credentials fails with Unauthenticated unless its
	// method is public (health always is).
	Authenticator Authenticator
	// PublicMethods may be called without credentials: full methods
	// ("/pkg.Svc/Method") or services ("/pkg.Svc/"). They skip Authorizer.
	PublicMethods []string
	// Authorizer decides every non-public call after authentication, using
	// Attributes to describe it (nil Attributes: non-resource calls named
	// by method). Streams are authorized on their first request message.
	Authorizer Authorizer
	Attributes AttributesFunc
	// OnDecision, if set, sees every authorization decision (audit log).
	OnDecision func(ctx context.Context, a Attributes, allowed bool)
	// Reflection registers the gRPC reflection service; with an
	// Authenticator it is served to authenticated callers only.
	Reflection bool
	// RatePerSecond and Burst bound requests per peer address; 0 disables.
	RatePerSecond float64
	Burst         int
	// MaxRecvMsgBytes caps one request message (0: DefaultMaxRecvMsgBytes).
	MaxRecvMsgBytes int
	// OnCallDone, if set, sees every finished call with its identity,
	// request and code (the API server's audit log).
	OnCallDone func(ctx context.Context, call CallInfo)
	// ExtraOptions are appended (e.g. TLS credentials).
	ExtraOptions []grpc.ServerOption
}

// Server is a grpc.Server plus its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
}

// New builds a server with the standard interceptor chain and a health service.
func New(cfg Config) *Server {
	srv := grpc.NewServer(serverOptions(cfg)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	if cfg.Reflection {
		reflection.Register(srv)
	}
	return &Server{Server: srv, Health: hs}
}

// serverOptions is the interceptor chain and limits every server gets.
func serverOptions(cfg Config) []grpc.ServerOption {
	c := &cfg
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	maxRecv := cfg.MaxRecvMsgBytes
	if maxRecv == 0 {
		maxRecv = DefaultMaxRecvMsgBytes
	}
	limiter := newPeerLimiter(cfg.RatePerSecond, cfg.Burst)
	unary := []grpc.UnaryServerInterceptor{
		recoverUnary(logger),
		telemetryUnary(logger),
		errorsUnary(logger),
		callsUnary(c),
		authnUnary(c),
		authzUnary(c),
		limiter.unary(),
	}
	stream := []grpc.StreamServerInterceptor{
		recoverStream(logger),
		telemetryStream(logger),
		errorsStream(logger),
		callsStream(c),
		authnStream(c),
		authzStream(c),
		limiter.stream(),
	}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	return append(opts, cfg.ExtraOptions...)
}

// Stop drains in-flight calls until ctx ends, then cuts whatever is left
// (watches stay open forever otherwise).
func (s *Server) Stop(ctx context.Context) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Server.Stop()
		<-done
	}
}
