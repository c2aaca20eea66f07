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
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/openpacific/pacific/services/hostagent/runtime/runc/cgroups"
	"github.com/openpacific/pacific/services/hostagent/runtime/runc/shim"
)

// shimCommand is the first argument with which the runtime re-runs this
// executable as a container shim.
const shimCommand = "shim"

type options struct {
	runc       string
	shim       string
	busybox    string
	dir        string
	sequential int
	concurrent int
	bare       int
	bareSplit  int
	workers    int
	unpinned   bool
	perCPU     int
	imageCalls string
	cpuProfile string

	bareSpec       string
	bareConcurrent bool
	bareFirst      bool
	timeout        time.Duration
	podTimeout     time.Duration
	logLevel       slog.Level
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == shimCommand {
		os.Exit(shim.Main(os.Args[2:]))
	}
	var o options
	flag.StringVar(&o.runc, "runc", "", "runc binary (default: <repo>/.bin/runc from hack/install-runc.sh, else runc from PATH)")
	flag.StringVar(&o.shim, "shim", "small", "container shim: small (build cmd/pacific-shim, as hack/dev.sh installs it), self (this binary re-run as `shim`, like pacific without pacific-shim), or the path of a pacific-shim")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox (Debian busybox-static) the image is built from")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "parent of the temporary state dir (API server, image cache, rootfs, bundles)")
	flag.IntVar(&o.sequential, "sequential", 100, "pods created one after another")
	flag.IntVar(&o.concurrent, "concurrent", 20, "pods created at once")
	flag.IntVar(&o.bare, "bare", 100, "bare runc run -d starts (the baseline)")
	flag.IntVar(&o.bareSplit, "bare-split", 50, "bare runc create + runc start pairs, for reference (0: skip)")
	flag.StringVar(&o.bareSpec, "bare-spec", "pod", "baseline's OCI spec: pod (the config.json the runtime made for a pod's container: same seccomp profile, capabilities, namespaces, limits) or default (runc spec's default)")
	flag.BoolVar(&o.bareConcurrent, "bare-concurrent", true, "also time -concurrent bare runc run -d at once, for reference")
	flag.BoolVar(&o.bareFirst, "bare-first", false, "run the batch of bare runc at once before the batch of pods (default: after), to see whether a batch's place in the run shifts its time (a -cpuprofile then also spans the bare batch)")
	flag.StringVar(&o.imageCalls, "image-calls", "local", "how the agent calls the image service: local (in-process, as pacific dev) or grpc (over loopback gRPC, as a hostagent with --image-service)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (API server, agent, image service, client) to this file, from the first sequential pod until the concurrent pods run (their deletes excluded; bare runc's sequential runs fall in between, while this process only spawns runc). It misses most of the kernel time of short-lived threads: for where the CPU goes, perf record -a -g is closer (README)")
	flag.BoolVar(&o.unpinned, "unpinned-starts", false, "turn off the runtime's start slots (at most -starts-per-cpu starts per CPU, each runc pinned to its CPU, decision 0034), as runc.Options.UnpinnedStarts")
	flag.IntVar(&o.perCPU, "starts-per-cpu", 0, "start slots per CPU, as runc.Options.StartsPerCPU (0: the runtime's default, as in pacific dev)")
	flag.IntVar(&o.workers, "agent-workers", 0, "host agent's parallel pod reconciles (0: the agent's default, as in pacific dev)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run (clean-up gets another minute)")
	flag.DurationVar(&o.podTimeout, "pod-timeout", 60*time.Second, "bound on one pod reaching Running, or being gone after delete")
	o.logLevel = slog.LevelWarn
	flag.TextVar(&o.logLevel, "log-level", o.logLevel, "level of the services' own logs (API server, image service, runtime, agent): debug, info, warn, error")
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
		log.Error("podstart failed", "err", err)
		return 1
	}
	res.print(os.Stdout)
	return 0
}

// bench checks the machine, starts the host, measures and cleans up.
func bench(ctx context.Context, o options, log, svcLog *slog.Logger) (*results, error) {
	if o.sequential < 0 || o.concurrent < 0 || o.sequential+o.concurrent < 1 || o.bare < 1 || o.bareSplit < 0 {
		return nil, errors.New("-sequential/-concurrent must leave at least one pod and -bare must be positive")
	}
	if o.perCPU < 0 {
		return nil, fmt.Errorf("-starts-per-cpu %d: must not be negative", o.perCPU)
	}
	if o.imageCalls != "local" && o.imageCalls != "grpc" {
		return nil, fmt.Errorf("-image-calls %q: want local or grpc", o.imageCalls)
	}
	if o.bareSpec != "pod" && o.bareSpec != "default" {
		return nil, fmt.Errorf("-bare-spec %q: want pod or default", o.bareSpec)
	}
	if err := checkMachine(&o); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.dir, "pacific-bench-podstart-")
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	shimPath, shimArgs, err := resolveShim(ctx, o.shim, dir)
	if err != nil {
		cleanupDir(dir, log)
		return nil, err
	}
	// One parent cgroup for everything: the pods' (the runtime's parent),
	// the baseline's and, for the CPU meter, this process's.
	top := fmt.Sprintf("/pacific-bench-podstart-%d", os.Getpid())
	log.Info("starting the host in this process", "dir", dir, "runc", o.runc, "shim", shimPath)
	e, err := startEnv(ctx, envConfig{dir: dir, cgroup: top + "/pods", runc: o.runc, shim: shimPath, shimArgs: shimArgs, busybox: o.busybox, workers: o.workers, unpinned: o.unpinned, perCPU: o.perCPU, grpcImages: o.imageCalls == "grpc", log: svcLog})
	if err != nil {
		removeCgroups(context.WithoutCancel(ctx), top, log)
		cleanupDir(dir, log)
		return nil, err
	}
	meter, merr := newCPUMeter(top)
	if merr != nil {
		log.Warn("CPU time per start is not measured", "err", merr)
		meter = nil
	}
	res := &results{cpu: meter != nil}
	err = measure(ctx, o, e, meter, top+"/bare", res, log)
	// Clean-up runs even after Ctrl-C or the timeout, bounded on its own.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer ccancel()
	if merr := meter.close(); merr != nil {
		log.Warn("clean-up: CPU meter", "err", merr)
	}
	e.close(cctx, log)
	removeCgroups(cctx, top, log)
	cleanupDir(dir, log)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// removeCgroups removes the benchmark's cgroups in every hierarchy.
func removeCgroups(ctx context.Context, top string, log *slog.Logger) {
	hs, err := cgroups.Hierarchies()
	if err == nil {
		err = cgroups.Remove(ctx, hs, top)
	}
	if err != nil {
		log.Warn("clean-up: cgroups", "parent", top, "err", err)
	}
}

// measure runs the phases: pre-pull, then each batch of pods next to the
// same batch of bare runc (while our host idles, same process, same
// machine): this machine's speed drifts by ±15 % over tens of seconds,
// while batches run back to back differ by a few percent.
func measure(ctx context.Context, o options, e *env, meter *cpuMeter, bareCgroup string, res *results, log *slog.Logger) error {
	log.Info("pre-pulling the image with one unmeasured pod", "image", e.image)
	podSpec, err := e.prepull(ctx, o.podTimeout)
	if err != nil {
		return fmt.Errorf("pre-pull: %w", err)
	}
	if o.bareSpec == "default" {
		podSpec = nil
	}
	b, err := newBareRunc(ctx, o.runc, e.dir, filepath.Join(e.runDir(), "bare-runc"), bareCgroup, e.img, podSpec, meter)
	if err != nil {
		return fmt.Errorf("bare runc: %w", err)
	}
	res.bareSpec = b.specKind
	defer b.close(context.WithoutCancel(ctx), log)
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if err := e.sequential(ctx, o.sequential, o.podTimeout, meter, res, log); err != nil {
		return fmt.Errorf("sequential pods: %w", err)
	}
	if res.bare, err = b.sequential(ctx, o.bare, bareRun, log); err != nil {
		return fmt.Errorf("bare runc: %w", err)
	}
	bareConc := func() error {
		if o.concurrent == 0 || !o.bareConcurrent {
			return nil
		}
		if err := waitQuiet(ctx, log); err != nil {
			return err
		}
		if res.bareConc, err = b.concurrent(ctx, o.concurrent, log); err != nil {
			return fmt.Errorf("bare runc concurrent: %w", err)
		}
		return nil
	}
	if o.bareFirst {
		if err := bareConc(); err != nil {
			return err
		}
	}
	if o.concurrent > 0 {
		if err := waitQuiet(ctx, log); err != nil {
			return err
		}
	}
	if err := e.concurrent(ctx, o.concurrent, o.podTimeout, meter, res, stopProfile, log); err != nil {
		return fmt.Errorf("concurrent pods: %w", err)
	}
	stopProfile()
	if !o.bareFirst {
		if err := bareConc(); err != nil {
			return err
		}
	}
	if o.bareSplit > 0 {
		if res.bareSplit, err = b.sequential(ctx, o.bareSplit, bareSplit, log); err != nil {
			return fmt.Errorf("bare runc create+start: %w", err)
		}
	}
	return nil
}

// resolveShim turns -shim into the runtime's ShimPath and ShimArgs.
func resolveShim(ctx context.Context, shim, dir string) (string, []string, error) {
	switch shim {
	case "small":
		p, err := buildShim(ctx, dir)
		return p, nil, err
	case "self":
		self, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("find own executable for the container shim: %w", err)
		}
		return self, []string{shimCommand}, nil
	}
	p, err := filepath.Abs(shim)
	if err != nil {
		return "", nil, err
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return "", nil, fmt.Errorf("-shim %s: not small, self or an executable file", shim)
	}
	return p, nil, nil
}

// startCPUProfile profiles this process into path ("" : no profile) until
// the returned func is called (again is a no-op).
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		f.Close()
	}), nil
}

// discard is a logger that drops everything.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
