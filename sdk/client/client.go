package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/openpacific/pacific/sdk/apis"
	adminv1 "github.com/openpacific/pacific/sdk/gen/pacific/admin/v1"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Defaults used when the corresponding Options field is zero.
const (
	// DefaultConnectTimeout bounds one connection attempt to a server.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultMaxSendMsgSize bounds one request: the API server caps objects
	// at 1.5 MiB and requests at 4 MiB.
	DefaultMaxSendMsgSize = 4 << 20
	// DefaultMaxRecvMsgSize bounds one response. A list page holds many
	// objects, so it is larger than a request.
	DefaultMaxRecvMsgSize = 64 << 20
)

// Options says how to reach the API.
type Options struct {
	// Servers are API server addresses (host:port). With several, calls are
	// spread over the replicas that are up and fail over between them.
	Servers []string
	// Token is sent as "authorization: Bearer <token>" on every call.
	Token string
	// The connection is always TLS. CAPEM is the PEM of the CA that signs
	// the API servers' certificates (a config file's
	// certificateAuthorityData); empty trusts the system's roots. TLS, when
	// set, is used as it is instead (services add their client
	// certificate there).
	CAPEM []byte
	TLS   *tls.Config
	// DialOptions are appended to the client's own, so they win: use them
	// for interceptors or stats handlers.
	DialOptions []grpc.DialOption
	// UserAgent prefixes gRPC's user agent, e.g. "pacctl/v0.1.0".
	UserAgent string
	// ConnectTimeout bounds one connection attempt (0: DefaultConnectTimeout),
	// so a dead address fails calls in seconds instead of hanging.
	ConnectTimeout time.Duration
	// MaxSendMsgSize and MaxRecvMsgSize bound messages in bytes (0: the
	// defaults above).
	MaxSendMsgSize int
	MaxRecvMsgSize int
	// Types resolves kinds for Dynamic clients and for decoding objects; the
	// zero value uses every kind linked into the program.
	Types apis.Types
}

// Client is a connection to the Pacific API. It is safe for concurrent use;
// create one per program and Close it at exit.
type Client struct {
	conn      *grpc.ClientConn
	servers   []string
	types     apis.Types
	resources corev1.ResourceServiceClient
	discovery corev1.DiscoveryServiceClient
	admin     adminv1.AdminServiceClient
	pods      corev1.PodServiceClient
	evictions corev1.EvictionServiceClient
}

// resolverScheme names the client's private resolver. It is registered per
// connection (grpc.WithResolvers), never globally.
const resolverScheme = "pacific"

// New returns a Client for opts. It does not connect yet: the first call
// does, and errors (unreachable server, bad token) surface from calls.
func New(opts Options) (*Client, error) {
	servers, err := checkServers(opts.Servers)
	if err != nil {
		return nil, err
	}
	r := manual.NewBuilderWithScheme(resolverScheme)
	state := resolver.State{}
	for _, s := range servers {
		// ServerName: each replica's certificate is checked against its own
		// host, not the joined target.
		host, _, _ := net.SplitHostPort(s)
		state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: s, ServerName: host}}})
	}
	r.InitialState(state)

	tlsConfig, err := clientTLS(opts)
	if err != nil {
		return nil, err
	}
	connectTimeout := orDefault(opts.ConnectTimeout, DefaultConnectTimeout)
	dialOpts := []grpc.DialOption{
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithDefaultServiceConfig(serviceConfig(len(servers))),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: connectTimeout}),
		// The server rejects pings more often than every 10 s.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallSendMsgSize(orDefault(opts.MaxSendMsgSize, DefaultMaxSendMsgSize)),
			grpc.MaxCallRecvMsgSize(orDefault(opts.MaxRecvMsgSize, DefaultMaxRecvMsgSize)),
		),
	}
	if opts.UserAgent != "" {
		dialOpts = append(dialOpts, grpc.WithUserAgent(opts.UserAgent))
	}
	if opts.Token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(newBearerToken(opts.Token)))
	}
	dialOpts = append(dialOpts, opts.DialOptions...)
	conn, err := grpc.NewClient(resolverScheme+":///"+strings.Join(servers, ","), dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", strings.Join(servers, ","), err)
	}
	return &Client{
		conn:      conn,
		servers:   servers,
		types:     opts.Types,
		resources: corev1.NewResourceServiceClient(conn),
		discovery: corev1.NewDiscoveryServiceClient(conn),
		admin:     adminv1.NewAdminServiceClient(conn),
		pods:      corev1.NewPodServiceClient(conn),
		evictions: corev1.NewEvictionServiceClient(conn),
	}, nil
}

// Close releases the connection. Calls in flight fail with Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying gRPC connection, for services the Client has no
// accessor for.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Servers returns the addresses the client talks to.
func (c *Client) Servers() []string { return append([]string(nil), c.servers...) }

// Resources is the raw generic ResourceService; For and Dynamic wrap it.
func (c *Client) Resources() corev1.ResourceServiceClient { return c.resources }

// Discovery lists the kinds the server knows and how to print them.
func (c *Client) Discovery() corev1.DiscoveryServiceClient { return c.discovery }

// Admin manages the API server's replicas.
func (c *Client) Admin() adminv1.AdminServiceClient { return c.admin }

// Pods is the raw PodService client (logs, exec).
func (c *Client) Pods() corev1.PodServiceClient { return c.pods }

// Evictions returns the EvictionService client (drain and maintenance).
func (c *Client) Evictions() corev1.EvictionServiceClient { return c.evictions }

func clientTLS(opts Options) (*tls.Config, error) {
	if opts.TLS != nil {
		return opts.TLS.Clone(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(opts.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(opts.CAPEM) {
			return nil, errors.New("client: the CA data holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func checkServers(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("server %q: want host:port, e.g. 127.0.0.1:7443", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no server address given")
	}
	return out, nil
}

func orDefault[N int | time.Duration](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}
