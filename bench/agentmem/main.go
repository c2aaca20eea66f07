package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/openpacific/pacific/bench/internal/benchenv"
)

type options struct {
	repo          string
	runc          string
	shim          string
	busybox       string
	dir           string
	pods          int
	timeout       time.Duration
	podTimeout    time.Duration
	settle        time.Duration
	sample        time.Duration
	interval      time.Duration
	logLevel      slog.Level
	agentLogLevel string
}

func main() {
	var o options
	flag.StringVar(&o.repo, "repo", "", "repository to build cmd/pacific from (default: the directory with go.work at or above the working directory)")
	flag.StringVar(&o.runc, "runc", "", "runc binary (default: <repo>/.bin/runc from hack/install-runc.sh, else runc from PATH)")
	flag.StringVar(&o.shim, "shim", "small", "container shims: small (also build the C cmd/pacific-shim next to pacific, as hack/dev.sh does) or self (`pacific shim`, what the agent runs without pacific-shim)")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox (Debian busybox-static) the image is built from")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "parent of the temporary state dir (binary, API server, registry, agent data)")
	flag.IntVar(&o.pods, "pods", 100, "pods to run")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run (clean-up gets another 2 minutes)")
	flag.DurationVar(&o.podTimeout, "pod-timeout", 5*time.Minute, "bound on all pods reaching Running, and on all being gone after delete")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait after all pods are Running before sampling")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "sampling period")
	flag.DurationVar(&o.interval, "interval", time.Second, "time between samples")
	o.logLevel = slog.LevelWarn
	flag.TextVar(&o.logLevel, "log-level", o.logLevel, "level of the API server's logs (in this process)")
	flag.StringVar(&o.agentLogLevel, "agent-log-level", "warn", "--log-level of the host agent (its log is printed on failure)")
	flag.Parse()
	os.Exit(run(o))
}

func run(o options) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svcLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("benchmark exceeded -timeout %s", o.timeout))
	defer cancel()
	res, err := bench(ctx, o, log, svcLog)
	if err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			err = fmt.Errorf("%w (%w)", err, c)
		}
		log.Error("agentmem failed", "err", err)
		return 1
	}
	res.print(os.Stdout)
	return 0
}

// results of one run.
type results struct {
	pods      int
	binSize   int64
	toRunning time.Duration
	samples   []sample
	left      leftovers
	shim      string // -shim
}

// bench checks the machine, starts everything, measures and cleans up.
func bench(ctx context.Context, o options, log, svcLog *slog.Logger) (*results, error) {
	if o.pods < 1 || o.sample <= 0 || o.interval <= 0 {
		return nil, errors.New("-pods, -sample and -interval must be positive")
	}
	if o.shim != "small" && o.shim != "self" {
		return nil, fmt.Errorf("-shim %q: want small or self", o.shim)
	}
	if err := checkMachine(&o); err != nil {
		return nil, err
	}
	benchenv.WarnIfBusy(log, "agentmem")
	dir, err := os.MkdirTemp(o.dir, "pacific-bench-agentmem-")
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("clean-up: remove state dir", "dir", dir, "err", err)
		}
	}()

	log.Info("building cmd/pacific", "repo", o.repo, "shim", o.shim)
	t0 := time.Now()
	bin, err := buildPacific(ctx, o.repo, dir, o.shim == "small")
	if err != nil {
		return nil, err
	}
	res := &results{pods: o.pods, shim: o.shim}
	if fi, err := os.Stat(bin); err == nil {
		res.binSize = fi.Size()
	}
	log.Info("built", "bin", bin, "took", time.Since(t0).Round(time.Millisecond))

	cp, err := startControl(ctx, dir, o.busybox, svcLog)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "host")
	a, err := startAgent(bin, cp.addr(), cp.tlsDir, dataDir, o.runc, o.agentLogLevel, filepath.Join(dir, "agent.log"))
	if err != nil {
		cp.close(context.WithoutCancel(ctx), log)
		return nil, err
	}
	log.Info("host agent started", "pid", a.pid(), "api", cp.addr(), "image", cp.image, "data", dataDir)

	var uids []string
	err = measure(ctx, o, cp, a, bin, res, &uids, log)

	// Clean-up runs even after Ctrl-C or the timeout, bounded on its own:
	// pods first (the agent's graceful stop leaves containers running).
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer ccancel()
	if !a.exited() {
		if derr := deleteAll(cctx, cp.pods, o.podTimeout, log); derr != nil {
			log.Warn("clean-up: delete pods", "err", derr)
		}
	}
	a.stop(30*time.Second, log)
	res.left = sweep(cctx, o.runc, filepath.Join(dataDir, "runtime", "runc"), dir, bin, uids, log)
	cp.close(cctx, log)
	if err != nil {
		if a.exited() {
			log.Info("host agent log (tail)", "log", a.logTail())
		}
		return nil, err
	}
	if !res.left.clean() {
		log.Warn("the run left state behind (removed now)", "left", res.left.String())
	}
	return res, nil
}

// measure creates the pods, waits for them and samples memory.
func measure(ctx context.Context, o options, cp *control, a *agent, bin string, res *results, uids *[]string, log *slog.Logger) error {
	if err := a.waitHost(ctx, cp.c, 60*time.Second); err != nil {
		return err
	}
	log.Info("creating pods", "pods", o.pods, "image", cp.image)
	start := time.Now()
	var err error
	*uids, err = createPods(ctx, cp.pods, cp.image, o.pods)
	if err != nil {
		return err
	}
	if err := waitRunning(ctx, cp.pods, a, o.pods, o.podTimeout, log); err != nil {
		return err
	}
	res.toRunning = time.Since(start)
	log.Info("all pods Running", "pods", o.pods, "took", res.toRunning.Round(time.Millisecond))
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(o.settle):
	}
	log.Info("sampling memory", "for", o.sample, "every", o.interval)
	res.samples, err = sampleFor(ctx, a, bin, o.sample, o.interval)
	if err != nil {
		return err
	}
	// Every pod must still be Running at the end of the sampling.
	ps, err := listPods(ctx, cp.pods)
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if running, summary := phases(ps); running != o.pods {
		return fmt.Errorf("pods changed while sampling: %s", summary)
	}
	return nil
}

func (r *results) print(w io.Writer) {
	var maxS, sum sample
	for _, s := range r.samples {
		if s.agent.VmRSS > maxS.agent.VmRSS {
			maxS = s
		}
		sum.agent.VmRSS += s.agent.VmRSS
		sum.agent.VmHWM = max(sum.agent.VmHWM, s.agent.VmHWM)
	}
	n := int64(len(r.samples))
	last := r.samples[n-1]
	fmt.Fprintf(w, "pods: %d Running (create → all Running %.1fs); binary %.1f MB\n", r.pods, r.toRunning.Seconds(), float64(r.binSize)/1e6)
	fmt.Fprintf(w, "host agent + embedded image service, VmRSS over %d samples: max %.1f MiB, avg %.1f MiB\n",
		n, mib(maxS.agent.VmRSS), mib(sum.agent.VmRSS/n))
	fmt.Fprintf(w, "  at max: anon %.1f MiB, file %.1f MiB, shmem %.1f MiB; threads %d; peak over its life (VmHWM) %.1f MiB\n",
		mib(maxS.agent.RssAnon), mib(maxS.agent.RssFile), mib(maxS.agent.RssShmem), maxS.agent.Threads, mib(sum.agent.VmHWM))
	fmt.Fprintf(w, "shims (-shim %s, for information): %d processes, VmRSS sum %.1f MiB (%.2f MiB each), PSS sum %.1f MiB (%.2f MiB each)\n",
		r.shim, last.shims, mib(last.shimRSS), mib(last.shimRSS)/float64(max(1, last.shims)), mib(last.shimPss), mib(last.shimPss)/float64(max(1, last.shims)))
	fmt.Fprintf(w, "clean-up: left behind %s\n", r.left)
	fmt.Fprintf(w, "RESULT agent_rss_mib=%.1f\n", mib(maxS.agent.VmRSS))
}

// discard is a logger that drops everything.
var discard = slog.New(slog.DiscardHandler)
