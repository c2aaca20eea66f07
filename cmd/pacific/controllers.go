package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/internal/leaderelect"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/services/controllers"
	"github.com/openpacific/pacific/services/controllers/eventttl"
	"github.com/openpacific/pacific/services/controllers/hostlifecycle"
)

// controllerFlags are the controllers' settings shared by `pacific
// controllers` and `pacific dev`.
type controllerFlags struct {
	hostMonitorGrace   time.Duration
	podEvictionTimeout time.Duration
	eventTTL           time.Duration
}

func (f *controllerFlags) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.hostMonitorGrace, "host-monitor-grace", hostlifecycle.DefaultMonitorGrace, "a host whose agent stops renewing its lease for this long (or the lease's own duration, if longer) becomes Ready=Unknown")
	cmd.Flags().DurationVar(&f.podEvictionTimeout, "pod-eviction-timeout", hostlifecycle.DefaultEvictionTimeout, "pods of a host that has not been Ready for this long are evicted (and recreated elsewhere by their Deployments)")
	cmd.Flags().DurationVar(&f.eventTTL, "event-ttl", eventttl.DefaultTTL, "Events that have not recurred for this long are deleted")
}

func (f *controllerFlags) validate() error {
	if f.hostMonitorGrace < time.Second {
		return fmt.Errorf("--host-monitor-grace %s: must be at least 1s", f.hostMonitorGrace)
	}
	if f.podEvictionTimeout <= 0 {
		return fmt.Errorf("--pod-eviction-timeout %s: must be positive", f.podEvictionTimeout)
	}
	if f.eventTTL < time.Minute {
		return fmt.Errorf("--event-ttl %s: must be at least 1m", f.eventTTL)
	}
	return nil
}

func (f *controllerFlags) config(c *client.Client, logger *slog.Logger) controllers.Config {
	return controllers.Config{Client: c, Logger: logger, HostMonitorGrace: f.hostMonitorGrace, PodEvictionTimeout: f.podEvictionTimeout, EventTTL: f.eventTTL}
}

// defaultControllersLeaseDuration is the controllers' failover time.
const defaultControllersLeaseDuration = 15 * time.Second

func newControllersCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	var (
		server, identity, tokenFile string
		leaseDuration               time.Duration
		flags                       controllerFlags
		tlsDir, tlsAs               string
	)
	cmd := &cobra.Command{
		Use:   "controllers",
		Short: "Run the controllers (run several: one leads through a Lease)",
		Long: `Run the controllers: namespaces, deployments and replica sets, garbage
collection, host lifecycle (lost hosts, eviction, maintenance). Several
replicas may run; the one holding the Lease pacific-system/pacific-controllers
works and the others take over within --lease-duration if it stops.`,
		Example: `  pacific controllers --server 10.0.0.1:7443 --tls-dir /etc/pacific/tls --pod-eviction-timeout 2m`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if server == "" {
				return errors.New("--server is required")
			}
			if err := flags.validate(); err != nil {
				return err
			}
			if leaseDuration < time.Second {
				return fmt.Errorf("--lease-duration %s: must be at least 1s", leaseDuration)
			}
			if identity == "" {
				host, _ := os.Hostname()
				identity = fmt.Sprintf("%s-%d", host, os.Getpid())
			}
			bundle, err := loadTLS(tlsDir, tlsAs)
			if err != nil {
				return err
			}
			c, err := dialAPI(server, bundle, tokenFile)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, stop := signalContext(cmd.Context(), logger)
			defer stop()
			cfg := flags.config(c, logger)
			return leaderelect.Run(ctx, leaderelect.Config{
				Client: c, Namespace: apis.HostLeaseNamespace, Name: "pacific-controllers", Identity: identity,
				LeaseDuration: leaseDuration, Logger: logger.With("component", "controllers"),
			}, func(ctx context.Context) {
				_ = controllers.New(cfg).Run(ctx)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "API server address host:port (required)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the controllers' bearer token ('pacctl auth token system:controllers'; until mTLS client certificates replace it)")
	f.StringVar(&tlsDir, "tls-dir", "", "directory with ca.crt and the certificate from 'pacific ca issue --kind service --name controllers' (required)")
	f.StringVar(&tlsAs, "tls-name", "controllers", "NAME of the certificate files in --tls-dir")
	f.StringVar(&identity, "identity", "", "this replica's name in the leader Lease (default: hostname-pid)")
	f.DurationVar(&leaseDuration, "lease-duration", defaultControllersLeaseDuration, "failover time: another replica takes over when the leader has not renewed for this long")
	flags.add(cmd)
	return cmd
}
