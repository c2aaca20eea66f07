package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openpacific/pacific/bench/internal/benchenv"
	"github.com/openpacific/pacific/internal/devregistry"
)

type options struct {
	sizeMB   int
	layers   int
	rounds   int
	warmup   int
	cpuProf  string
	dir      string
	timeout  time.Duration
	logLevel slog.Level
}

func main() {
	var o options
	flag.IntVar(&o.sizeMB, "size-mb", 200, "uncompressed file content of the image, MB (10^6 bytes)")
	flag.IntVar(&o.layers, "layers", 1, "layers; with more than one, sizes halve from the bottom up (3: base, dependencies, app)")
	flag.IntVar(&o.rounds, "rounds", 3, "measured rounds per side, alternating which side goes first (0: build and describe the image only)")
	flag.IntVar(&o.warmup, "warmup", 1, "unmeasured rounds first (they absorb leftover disk work, e.g. from deleting an earlier run's trees)")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "parent of the temporary dir: registry, both sides' targets (keep both on one filesystem)")
	flag.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the measured rounds (this process: our pulls and the registry) to this file")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	o.logLevel = slog.LevelWarn
	flag.TextVar(&o.logLevel, "log-level", o.logLevel, "level of the image service's own logs")
	flag.Parse()
	os.Exit(run(o))
}

func run(o options) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svcLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel})).With("component", "imagesvc")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("benchmark exceeded -timeout %s", o.timeout))
	defer cancel()
	if err := bench(ctx, o, log, svcLog); err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			err = fmt.Errorf("%w (%w)", err, c)
		}
		log.Error("imagepull failed", "err", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options, log, svcLog *slog.Logger) error {
	if o.sizeMB < 1 || o.layers < 1 || o.rounds < 0 || o.warmup < 0 {
		return errors.New("-size-mb and -layers must be positive, -rounds and -warmup not negative")
	}
	t, err := findTools()
	if err != nil {
		return err
	}
	benchenv.WarnIfBusy(log, "imagepull")
	dir, err := os.MkdirTemp(o.dir, "pacific-bench-imagepull-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("clean-up", "dir", dir, "err", err)
		}
	}()
	reg, err := devregistry.Start("127.0.0.1:0", filepath.Join(dir, "registry"))
	if err != nil {
		return err
	}
	defer reg.Close(context.WithoutCancel(ctx))

	log.Info("building the image", "size_mb", o.sizeMB, "layers", o.layers)
	t0 := time.Now()
	img, layers, err := buildImage(int64(o.sizeMB)*1e6, o.layers)
	if err != nil {
		return err
	}
	const repo = "bench/big"
	ref := reg.Addr() + "/" + repo + ":1"
	if err := devregistry.Push(ctx, ref, img); err != nil {
		return err
	}
	log.Info("image built and pushed", "ref", ref, "took", time.Since(t0).Round(time.Millisecond))
	describeImage(layers)
	if o.rounds == 0 {
		return nil
	}

	for i := range o.warmup {
		if err := round(ctx, fmt.Sprintf("warm-up %d", i+1), i%2 == 1, t, ref, filepath.Join(dir, fmt.Sprintf("warmup%d", i)), svcLog, &results{}); err != nil {
			return err
		}
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile() // on error; a no-op after the one below
	}
	res := &results{}
	for i := range o.rounds {
		if err := round(ctx, fmt.Sprintf("round %d", i+1), i%2 == 1, t, ref, filepath.Join(dir, fmt.Sprintf("round%d", i)), svcLog, res); err != nil {
			return err
		}
	}
	pprof.StopCPUProfile()
	refDir := filepath.Join(dir, "reference")
	if err := os.Mkdir(refDir, 0o700); err != nil {
		return err
	}
	if res.ref, err = measureReference(ctx, reg.Addr(), repo, layers, refDir); err != nil {
		return fmt.Errorf("reference measurements: %w", err)
	}
	res.print(os.Stdout)
	return nil
}

// round measures both sides once, into fresh targets under rdir; bareFirst
// swaps the order. The first round also checks both unpacked the same
// trees.
func round(ctx context.Context, name string, bareFirst bool, t tools, ref, rdir string, svcLog *slog.Logger, res *results) error {
	oursDir, bareDir := filepath.Join(rdir, "ours"), filepath.Join(rdir, "bare")
	for _, d := range []string{oursDir, bareDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var (
		ours *ourRun
		bare *bareRun
	)
	doOurs := func() error {
		unix.Sync() // start from no dirty pages, both sides alike
		r, svc, err := pullOurs(ctx, ref, filepath.Join(oursDir, "cache"), svcLog)
		if err != nil {
			return fmt.Errorf("%s, ours: %w", name, err)
		}
		svc.Close()
		ours = r
		fmt.Printf("%s ours: %s\n", name, r)
		return nil
	}
	doBare := func() error {
		unix.Sync()
		r, err := pullBare(ctx, t, ref, bareDir)
		if err != nil {
			return fmt.Errorf("%s, bare: %w", name, err)
		}
		bare = r
		fmt.Printf("%s bare: %s\n", name, r)
		return nil
	}
	steps := []func() error{doOurs, doBare}
	if bareFirst {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if !res.checked {
		if err := compareTrees(ours.dirs, bare.dirs); err != nil {
			return fmt.Errorf("the two sides unpacked different trees: %w", err)
		}
		res.checked = true
	}
	res.ours = append(res.ours, ours)
	res.bare = append(res.bare, bare)
	// The targets stay until the end of the run: deleting a tree right
	// before a measurement slows the next writes down (ext4, more so
	// with online discard), and would hit whichever side comes next.
	return nil
}
