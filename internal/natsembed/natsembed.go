package natsembed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// MaxPayload is the largest message the embedded server accepts. The change
// feed carries whole objects (up to 1.5 MiB) plus a small envelope.
const MaxPayload = 4 << 20

// readyTimeout bounds how long Start waits for the server to accept clients.
const readyTimeout = 10 * time.Second

// Config configures an embedded server.
type Config struct {
	// Host to listen on; must be a loopback address. Default 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free one (see ClientURL).
	Port int
	// StoreDir holds JetStream data; required. Reusing it keeps streams
	// across restarts.
	StoreDir string
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// TLS, when set, makes the server accept only TLS clients presenting a
	// certificate it verifies (it must require and verify client
	// certificates); plaintext and certificate-less clients are refused.
	TLS *tls.Config
	// Auth decides who may connect and with which subject permissions
	// (see internal/natsauth); required with TLS.
	Auth server.Authentication
}

// Server is a running embedded nats-server.
type Server struct {
	ns  *server.Server
	log *slog.Logger
}

// Start starts the server and returns once it accepts clients and JetStream
// is enabled. ctx bounds only the start.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if err := checkLoopback(cfg.Host); err != nil {
		return nil, err
	}
	if cfg.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("natsembed: port %d out of range", cfg.Port)
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("natsembed: store dir: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "pacific-embedded",
		Host:       cfg.Host,
		Port:       port,
		NoSigs:     true,
		NoLog:      true, // we install our own logger below
		MaxPayload: MaxPayload,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		// sync_interval: always — fsync each write before the ack.
		SyncAlways:   true,
		SyncInterval: 2 * time.Minute,
		// Only the client port: no HTTP monitoring, cluster, gateway or leaf.
		HTTPPort: 0,
	}
	if cfg.TLS != nil {
		if cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
			return nil, errors.New("natsembed: TLS must require and verify client certificates")
		}
		if cfg.Auth == nil {
			return nil, errors.New("natsembed: Auth is required with TLS")
		}
		opts.TLS, opts.TLSVerify, opts.TLSConfig = true, true, cfg.TLS
		opts.TLSTimeout = 2
		opts.CustomClientAuthentication = cfg.Auth
	} else if cfg.Auth != nil {
		return nil, errors.New("natsembed: Auth needs TLS")
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: new server: %w", err)
	}
	ns.SetLoggerV2(&slogAdapter{log: log}, false, false, false)

	started := make(chan struct{})
	go func() {
		defer close(started)
		ns.Start()
	}()
	s := &Server{ns: ns, log: log}
	deadline := readyTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < deadline {
		deadline = time.Until(d)
	}
	select {
	case <-started:
	case <-ctx.Done():
		s.shutdownNow()
		return nil, fmt.Errorf("natsembed: start: %w", ctx.Err())
	}
	if !ns.ReadyForConnections(deadline) {
		s.shutdownNow()
		return nil, fmt.Errorf("natsembed: server not ready after %s", deadline)
	}
	if !ns.JetStreamEnabled() {
		s.shutdownNow()
		return nil, errors.New("natsembed: JetStream did not start")
	}
	log.Debug("embedded nats-server started", "url", ns.ClientURL(), "store_dir", cfg.StoreDir)
	return s, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Connect opens a client connection to the server without a socket
// (nats.InProcessServer). The caller closes it. A TLS server refuses it
// (in-process connections carry no certificate).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(s.ns), nats.Name("pacific-inprocess")}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("natsembed: connect in-process: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server and waits until it has stopped or ctx is done.
// JetStream data is flushed and closed; the StoreDir can be reused.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}()
	select {
	case <-done:
		s.log.Debug("embedded nats-server stopped")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("natsembed: shutdown: %w", ctx.Err())
	}
}

func (s *Server) shutdownNow() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

func checkLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("natsembed: host %q is not a loopback address", host)
	}
	return nil
}

// slogAdapter routes nats-server's logger to slog.
type slogAdapter struct{ log *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(string, ...any)           {}
