package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	hosts, pods, zones int
	creators           int
	bindWorkers        int
	percent            int
	dir                string
	timeout            time.Duration
	fleet, runPods     bool
	logLevel           slog.Level
	seed               uint64
}

func main() {
	var o options
	flag.IntVar(&o.hosts, "hosts", 5000, "simulated hosts (4 CPU, 8 GiB each)")
	flag.IntVar(&o.pods, "pods", 10000, "pods to place: 50% plain, 25% anti-affinity (groups of 20), 25% spread over zones (groups of 100)")
	flag.IntVar(&o.zones, "zones", 10, "failure domains (label topology.pacific.dev/zone)")
	flag.IntVar(&o.creators, "creators", 128, "concurrent pod creates")
	flag.IntVar(&o.bindWorkers, "bind-workers", 0, "scheduler --bind-workers (0: its default)")
	flag.IntVar(&o.percent, "percentage-of-hosts-to-score", 0, "scheduler --percentage-of-hosts-to-score (0: adaptive)")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "parent of the temporary state dir")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.BoolVar(&o.fleet, "renew-leases", true, "simulated hosts renew their Leases every 10s during the run, as real agents do")
	flag.BoolVar(&o.runPods, "run-pods", false, "simulated hosts also write Running statuses for bound pods (extra API load; kube-scheduler's benchmark has no kubelets)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the pod mix's order")
	o.logLevel = slog.LevelWarn
	flag.TextVar(&o.logLevel, "log-level", o.logLevel, "log level of the processes: debug, info, warn, error")
	flag.Parse()
	if o.hosts < 1 || o.pods < 1 || o.zones < 1 || o.creators < 1 {
		fmt.Fprintln(os.Stderr, "bench/scheduler: -hosts, -pods, -zones and -creators must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scheduler:", err)
		os.Exit(1)
	}
}
