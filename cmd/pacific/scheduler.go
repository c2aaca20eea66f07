package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/services/scheduler"
)

// schedulerFlags are the scheduler's settings shared by `pacific
// scheduler` and `pacific dev`.
type schedulerFlags struct {
	strategy string
	percent  int
}

func (f *schedulerFlags) add(cmd *cobra.Command, prefix string) {
	cmd.Flags().StringVar(&f.strategy, prefix+"strategy", scheduler.StrategySpread, "placement strategy: spread (least allocated hosts first) or binpack (fill hosts)")
	cmd.Flags().IntVar(&f.percent, prefix+"percentage-of-hosts-to-score", 0, "share of hosts searched for feasible ones per pod, 1-100 (0: adapt to the fleet's size)")
}

func (f *schedulerFlags) config(prefix string) (scheduler.Config, error) {
	if f.strategy != scheduler.StrategySpread && f.strategy != scheduler.StrategyBinpack {
		return scheduler.Config{}, fmt.Errorf("--%sstrategy %q: want spread or binpack", prefix, f.strategy)
	}
	if f.percent < 0 || f.percent > 100 {
		return scheduler.Config{}, fmt.Errorf("--%spercentage-of-hosts-to-score %d: want 0..100", prefix, f.percent)
	}
	return scheduler.Config{Strategy: f.strategy, PercentageOfHostsToScore: f.percent}, nil
}

func newSchedulerCommand(g *globalFlags, stderr io.Writer) *cobra.Command {
	var (
		server        string
		tokenFile     string
		flags         schedulerFlags
		cfg           scheduler.Config
		tlsDir, tlsAs string
	)
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler (run several: one leads through a Lease)",
		Long: `Run the scheduler: it binds pending pods to hosts. Several replicas may run;
the one holding the Lease pacific-system/pacific-scheduler schedules and the
others take over within --lease-duration if it stops.`,
		Example: `  pacific scheduler --server 10.0.0.1:7443 --tls-dir /etc/pacific/tls --strategy binpack`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := g.logger(stderr)
			if err != nil {
				return err
			}
			if server == "" {
				return errors.New("--server is required")
			}
			sc, err := flags.config("")
			if err != nil {
				return err
			}
			if cfg.LeaseDuration < 0 {
				return fmt.Errorf("--lease-duration %s: must be positive", cfg.LeaseDuration)
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
			sc.Client, sc.Logger, sc.Identity, sc.LeaseDuration, sc.BindWorkers = c, logger, cfg.Identity, cfg.LeaseDuration, cfg.BindWorkers
			s, err := scheduler.New(sc)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tokenFile, "token-file", "", "file holding the scheduler's bearer token ('pacctl auth token system:scheduler'; until mTLS client certificates replace it)")
	f.StringVar(&server, "server", "", "API server address host:port (required)")
	f.StringVar(&tlsDir, "tls-dir", "", "directory with ca.crt and the certificate from 'pacific ca issue --kind service --name scheduler' (required)")
	f.StringVar(&tlsAs, "tls-name", "scheduler", "NAME of the certificate files in --tls-dir")
	flags.add(cmd, "")
	f.StringVar(&cfg.Identity, "identity", "", "this replica's name in the leader Lease (default: hostname-pid-random)")
	f.DurationVar(&cfg.LeaseDuration, "lease-duration", scheduler.DefaultLeaseDuration, "failover time: another replica takes over when the leader has not renewed for this long")
	f.IntVar(&cfg.BindWorkers, "bind-workers", scheduler.DefaultBindWorkers, "bindings and status writes in flight at once")
	return cmd
}
