package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/services/apiserver"
	"github.com/openpacific/pacific/services/apiserver/store"
	"github.com/openpacific/pacific/services/authz"
)

func newAPIServerCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	var (
		cfg           apiserver.Config
		peers         []string
		adminConfig   string
		ssoOpts       ssoFlags
		adminTTL      time.Duration
		tlsDir, tlsAs string
	)
	cmd := &cobra.Command{
		Use:   "apiserver",
		Short: "Run one API server replica",
		Long: `Run one API server replica.

A new 3-replica cluster: start each replica with the same --peer list and
--bootstrap; a replica that joins an existing cluster starts without
--bootstrap and is added with 'pacctl admin members add'.`,
		Example: `  pacific apiserver --id a --data-dir /var/lib/pacific/a --listen 10.0.0.1:7443 \
    --raft-addr 10.0.0.1:7444 --bootstrap --tls-dir /etc/pacific/tls \
    --peer a=10.0.0.1:7444@10.0.0.1:7443 --peer b=10.0.0.2:7444@10.0.0.2:7443 --peer c=10.0.0.3:7444@10.0.0.3:7443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			for _, p := range peers {
				peer, err := parsePeer(p)
				if err != nil {
					return err
				}
				cfg.Peers = append(cfg.Peers, peer)
			}
			if cfg.DataDir == "" {
				return fmt.Errorf("--data-dir is required")
			}
			if tlsAs == "" {
				tlsAs = cfg.ID
			}
			if cfg.TLS, err = loadTLS(tlsDir, tlsAs); err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context(), logger)
			defer stop()
			cfg.Logger = logger
			sso, err := ssoOpts.config()
			if err != nil {
				return err
			}
			var tokens *authz.Service
			cfg.Auth = authFunc(logger, sso, &tokens)
			srv, err := apiserver.New(ctx, cfg)
			if err != nil {
				return err
			}
			if adminConfig != "" {
				// Written once the store has a leader and a signing key,
				// while the server already serves.
				go func() {
					if err := writeAdminConfig(ctx, tokens, adminConfig, "admin", srv.Addr(), cfg.TLS.CAPEM, adminTTL); err != nil {
						logger.Error("cannot write --admin-config", "path", adminConfig, "err", err)
						return
					}
					logger.Info("wrote a cluster-admin client config", "path", adminConfig)
				}()
			}
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", "apiserver-0", "stable replica ID")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the Raft log, snapshots and state (required)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:7443", "gRPC address for clients and other replicas")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "127.0.0.1:7444", "Raft transport address (keep it stable)")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "bootstrap a new cluster from --peer (or this replica alone) if the data dir is empty")
	f.StringArrayVar(&peers, "peer", nil, "initial member ID=RAFT_ADDR@API_ADDR (repeatable)")
	f.StringVar(&cfg.NATSURL, "nats", "", "NATS URL for the change feed (empty: no feed)")
	f.StringVar(&tlsDir, "tls-dir", "", "directory with ca.crt and this replica's certificate from 'pacific ca issue --kind apiserver' (required)")
	f.StringVar(&tlsAs, "tls-name", "", "NAME of the certificate files in --tls-dir (default: --id)")
	f.StringVar(&cfg.AuditFile, "audit-log", "", "audit log file (JSON lines, rotated; also sent to NATS stream PACIFIC_AUDIT with --nats)")
	f.Int64Var(&cfg.AuditMaxBytes, "audit-log-max-bytes", 100<<20, "rotate the audit log at this size (5 old files are kept)")
	ssoOpts.add(cmd)
	f.StringVar(&adminConfig, "admin-config", "", "write a pacctl config with a cluster-admin credential here (mode 0600) once serving; use it to create users and bindings")
	f.DurationVar(&adminTTL, "admin-config-ttl", time.Hour, "life of the --admin-config access token (it also holds a refresh token)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 0, "graceful drain limit (default 10s)")
	return cmd
}

// parsePeer parses ID=RAFT_ADDR@API_ADDR.
func parsePeer(s string) (store.Peer, error) {
	id, addrs, ok := strings.Cut(s, "=")
	raft, api, ok2 := strings.Cut(addrs, "@")
	if !ok || !ok2 || id == "" || raft == "" || api == "" {
		return store.Peer{}, fmt.Errorf("--peer %q: want ID=RAFT_ADDR@API_ADDR", s)
	}
	return store.Peer{ID: id, RaftAddr: raft, APIAddr: api}, nil
}
