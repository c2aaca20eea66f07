package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/internal/pki"
	"github.com/openpacific/pacific/services/hostagent"
)

func newHostAgentCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	var (
		cfg           nodeConfig
		server        string
		tokenFile     string
		tlsDir, tlsAs string
	)
	cmd := &cobra.Command{
		Use:   "hostagent",
		Short: "Run the host agent (and, without --image-service, the image service) on this host",
		Long: `Run the host agent: it registers this machine as a Host, renews its Lease
and runs the pods bound to it as runc containers. Needs root and runc
(./hack/install-runc.sh). Containers keep running when the agent stops; the
next start re-adopts them.`,
		Example: `  pacific hostagent --server 10.0.0.1:7443 --host-name host-1 --data-dir /var/lib/pacific/host \
    --listen 10.0.0.11:7460 --image-service 127.0.0.1:7450`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if cfg.hostName == "" {
				if cfg.hostName, err = hostagent.DefaultHostName(); err != nil {
					return fmt.Errorf("--host-name: %w", err)
				}
			}
			if server == "" {
				return errors.New("--server is required")
			}
			if cfg.dataDir == "" || !filepath.IsAbs(cfg.dataDir) {
				return fmt.Errorf("--data-dir %q: an absolute path is required", cfg.dataDir)
			}
			if reason := nodeUnavailable(cfg.runcPath); reason != "" {
				return errors.New(reason)
			}
			if tlsAs == "" {
				tlsAs = cfg.hostName
			}
			if cfg.tls, err = loadTLS(tlsDir, tlsAs); err != nil {
				return err
			}
			c, err := dialAPI(server, cfg.tls, tokenFile)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, stop := signalContext(cmd.Context(), logger)
			defer stop()
			cfg.api, cfg.logger = c, logger
			n, err := startNode(ctx, cfg)
			if err != nil {
				return err
			}
			return n.run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "API server address host:port (required)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the agent's bearer token ('pacctl auth token system:host:NAME --group system:hosts'; until mTLS client certificates replace it)")
	f.StringVar(&cfg.hostName, "host-name", "", "this Host's name (default: the machine's hostname)")
	f.StringVar(&cfg.dataDir, "data-dir", "/var/lib/pacific/host", "state: container logs, emptyDir volumes (and the image cache when embedded); volatile files go to --run-dir")
	f.StringVar(&cfg.runDir, "run-dir", "", "volatile files (bundles, runc state, namespace pins, rootfs mount points) on a tmpfs: this host's tmpfs if the dir is on one (e.g. /run/pacific), else one mounted there and unmounted when empty (default: DATA-DIR/run; docs/decisions/0035)")
	f.StringVar(&cfg.runcPath, "runc", "runc", "runc binary (1.5.2 or newer, built with seccomp)")
	f.BoolVar(&cfg.unpinnedStarts, "unpinned-starts", false, unpinnedStartsUsage)
	f.StringVar(&cfg.agentListen, "listen", "127.0.0.1:7460", "address of the agent's logs/exec API, reachable from the API servers")
	f.StringVar(&cfg.imageService, "image-service", "", "address of the image service (empty: run one in this process)")
	f.StringVar(&cfg.natsURL, "nats", "", "NATS URL for image prefetch requests (embedded image service only; a separate one takes its own --nats)")
	f.StringVar(&tlsDir, "tls-dir", "", "directory with ca.crt and this host's certificate NAME.crt/NAME.key from 'pacific ca issue --kind host' (required)")
	f.StringVar(&tlsAs, "tls-name", "", "NAME of the certificate files in --tls-dir (default: --host-name)")
	return cmd
}

// loadTLS reads a service's CA and certificate for --tls-dir/--tls-name.
func loadTLS(dir, name string) (*pki.Bundle, error) {
	if dir == "" {
		return nil, errors.New("--tls-dir is required: every internal connection is mutual TLS (see 'pacific ca --help')")
	}
	b, err := pki.LoadBundle(dir, name)
	if err != nil {
		return nil, fmt.Errorf("--tls-dir %s (--tls-name %s): %w", dir, name, err)
	}
	return b, nil
}

func newImageServiceCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	var dataDir, listen, tlsDir, tlsAs, natsURL, hostName string
	cmd := &cobra.Command{
		Use:   "imagesvc",
		Short: "Run the image service of this host (for its host agent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(dataDir) {
				return fmt.Errorf("--data-dir %q: an absolute path is required", dataDir)
			}
			bundle, err := loadTLS(tlsDir, tlsAs)
			if err != nil {
				return err
			}
			// Prefetch requests are per host: NATS lets only the host's own
			// identity consume its queue, so they are read with the host's
			// certificate (from the same --tls-dir).
			var hostID *pki.Bundle
			if natsURL != "" {
				if hostName == "" {
					if hostName, err = hostagent.DefaultHostName(); err != nil {
						return fmt.Errorf("--host-name: %w", err)
					}
				}
				if hostID, err = loadTLS(tlsDir, hostName); err != nil {
					return fmt.Errorf("--nats needs this host's certificate: %w", err)
				}
			}
			ctx, stop := signalContext(cmd.Context(), logger)
			defer stop()
			svc, srv, lis, err := startImageService(ctx, dataDir, listen, bundle, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			if natsURL != "" {
				nc, err := startPrefetch(ctx, natsURL, hostName, hostID, svc, logger)
				if err != nil {
					srv.Stop(context.WithoutCancel(ctx))
					return err
				}
				defer nc.Close()
				logger.Info("consuming image prefetch requests", "host", hostName)
			}
			logger.Info("image service serving", "addr", lis.Addr().String())
			<-ctx.Done()
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			srv.Stop(stopCtx)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "/var/lib/pacific/images", "image cache directory")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7450", "address for the host agent (keep it on loopback)")
	cmd.Flags().StringVar(&tlsDir, "tls-dir", "", "directory with ca.crt and the certificate from 'pacific ca issue --kind service --name imagesvc' (required)")
	cmd.Flags().StringVar(&tlsAs, "tls-name", "imagesvc", "NAME of the certificate files in --tls-dir")
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS URL to consume this host's image prefetch requests from (empty: no prefetch)")
	cmd.Flags().StringVar(&hostName, "host-name", "", "the Host whose prefetch queue to consume, with --nats; its certificate HOST.crt/HOST.key must be in --tls-dir (default: the machine's hostname)")
	return cmd
}
