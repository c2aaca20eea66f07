package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/openpacific/pacific/sdk/client"
	"github.com/openpacific/pacific/sdk/quantity"
	"github.com/openpacific/pacific/services/hostagent/sim"
)

// maxSimHosts bounds --sim-hosts: enough for scale tests, not a typo's
// million.
const maxSimHosts = 20000

// simZoneLabel spreads simulated hosts over failure domains.
const simZoneLabel = "topology.pacific.dev/zone"

// simOptions are the flags for simulated hosts (dev mode).
type simOptions struct {
	hosts  int
	cpu    string
	memory string
	zones  int

	cpuMillis   int64
	memoryBytes int64
	// leaseDuration and renewInterval of the hosts' Leases (set by dev
	// from --host-monitor-grace; 0: the agent's defaults).
	leaseDuration, renewInterval time.Duration
}

func (o *simOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.hosts, "sim-hosts", 0, "also run N simulated hosts (runtime sim: pods reach Running without containers; labelled pacific.dev/simulated=true), named sim-1..sim-N")
	cmd.Flags().StringVar(&o.cpu, "sim-host-cpu", "4", "CPU of each simulated host (e.g. 4, 500m)")
	cmd.Flags().StringVar(&o.memory, "sim-host-memory", "8Gi", "memory of each simulated host (e.g. 8Gi)")
	cmd.Flags().IntVar(&o.zones, "sim-zones", 3, "spread simulated hosts over this many zones (label "+simZoneLabel+"=zone-1..N); 0 for none")
}

func (o *simOptions) validate() error {
	if o.hosts < 0 || o.hosts > maxSimHosts {
		return fmt.Errorf("--sim-hosts %d: want 0..%d", o.hosts, maxSimHosts)
	}
	if o.zones < 0 || o.zones > 1000 {
		return fmt.Errorf("--sim-zones %d: want 0..1000", o.zones)
	}
	cpu, err := quantity.Parse(o.cpu)
	if err != nil || cpu.Milli() <= 0 {
		return fmt.Errorf("--sim-host-cpu %q: want a positive quantity such as 4 or 500m", o.cpu)
	}
	mem, err := quantity.Parse(o.memory)
	if err != nil || mem.Milli() < 1000 {
		return fmt.Errorf("--sim-host-memory %q: want a positive quantity such as 8Gi", o.memory)
	}
	o.cpuMillis, o.memoryBytes = cpu.Milli(), mem.Milli()/1000
	return nil
}

// simHosts runs the simulated hosts until ctx ends; nothing when none are
// asked for.
type simHosts struct {
	o      *simOptions
	fleet  *sim.Fleet
	logger *slog.Logger
}

func newSimHosts(o *simOptions, c *client.Client, logger *slog.Logger) (*simHosts, error) {
	if o.hosts == 0 {
		return nil, nil
	}
	fleet, err := sim.New(sim.Config{Client: c, Logger: logger, CPUMillis: o.cpuMillis, MemoryBytes: o.memoryBytes,
		LeaseDuration: o.leaseDuration, RenewInterval: o.renewInterval})
	if err != nil {
		return nil, err
	}
	return &simHosts{o: o, fleet: fleet, logger: logger}, nil
}

// run registers the hosts (once the API server serves) and runs them.
func (s *simHosts) run(ctx context.Context) error {
	hosts := make([]sim.HostConfig, s.o.hosts)
	for i := range hosts {
		hosts[i].Name = fmt.Sprintf("sim-%d", i+1)
		if s.o.zones > 0 {
			hosts[i].Labels = map[string]string{simZoneLabel: fmt.Sprintf("zone-%d", i%s.o.zones+1)}
		}
	}
	for {
		err := s.fleet.AddHosts(ctx, hosts)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		// The API server may still be starting; registering again is safe
		// for the hosts that made it (AddHost of a known name fails fast).
		s.logger.Warn("register simulated hosts; will retry", "err", err)
		hosts = s.missing(hosts)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	s.logger.Info("simulated hosts registered", "count", s.o.hosts)
	return s.fleet.Run(ctx)
}

func (s *simHosts) missing(hosts []sim.HostConfig) []sim.HostConfig {
	have := map[string]bool{}
	for _, n := range s.fleet.Names() {
		have[n] = true
	}
	var out []sim.HostConfig
	for _, h := range hosts {
		if !have[h.Name] {
			out = append(out, h)
		}
	}
	return out
}
