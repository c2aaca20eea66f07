package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	etcdBin    string
	dir        string
	members    int
	valueSize  int
	clients    int
	conns      int
	puts1      int
	puts100    int
	gets       int
	warmup     int
	phaseTime  time.Duration
	storeLevel bool
	feed       bool
	verbose    bool
	leaderOnly bool
	rounds     int
	cpuProfile string
}

func main() {
	var o options
	flag.StringVar(&o.etcdBin, "etcd", "/usr/bin/etcd", "etcd 3.4 binary (Debian package etcd-server)")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "parent of the temporary data dirs (both systems use the same file system)")
	flag.IntVar(&o.members, "members", 3, "replicas per system")
	flag.IntVar(&o.valueSize, "value-size", 256, "bytes per value")
	flag.IntVar(&o.clients, "clients", 100, "concurrent clients of the concurrent phases")
	flag.IntVar(&o.conns, "conns", 10, "gRPC connections shared by the clients, spread over the replicas")
	flag.IntVar(&o.puts1, "puts-1c", 5000, "puts of the sequential phase (at most)")
	flag.IntVar(&o.puts100, "puts-100c", 20000, "puts of the concurrent phase (at most)")
	flag.IntVar(&o.gets, "gets", 20000, "linearizable gets of the read phase (at most)")
	flag.IntVar(&o.warmup, "warmup", 500, "unmeasured puts per system before the phases")
	flag.DurationVar(&o.phaseTime, "phase-time", 60*time.Second, "time limit of each phase per system")
	flag.BoolVar(&o.storeLevel, "store-level", true, "also measure Pacific's store API directly (no gRPC), for reference")
	flag.BoolVar(&o.feed, "feed", false, "run Pacific with its change feed to an embedded NATS JetStream")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and Pacific replicas) to the file")
	flag.IntVar(&o.rounds, "rounds", 4, "rounds per phase, alternating between the systems")
	flag.BoolVar(&o.leaderOnly, "leader-only", false, "connect every client to the leader (default: spread over all replicas)")
	flag.BoolVar(&o.verbose, "v", false, "show the Pacific replicas' warnings (Raft elections etc.) on stderr")
	flag.Parse()
	os.Exit(run(o))
}

// system is one thing measured: a name and put/get operations on key i.
type system struct {
	label   string
	put     opFunc
	get     opFunc
	created []atomic.Bool
	results map[string]phaseResult
}

func run(o options) int {
	log := slog.New(slog.DiscardHandler)
	if o.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once (etcd members die with us: Pdeathsig)
	}()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench/store: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "bench/store: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(ctx, o, log); err != nil {
		fmt.Fprintf(os.Stderr, "bench/store: %v\n", err)
		return 1
	}
	return 0
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func bench(ctx context.Context, o options, log *slog.Logger) error {
	if o.members < 1 || o.clients < 1 || o.conns < 1 || o.valueSize < 1 || o.rounds < 1 {
		return errors.New("members, clients, conns, value-size and rounds must be positive")
	}
	if _, err := os.Stat(o.etcdBin); err != nil {
		return fmt.Errorf("etcd binary: %w (install the Debian package etcd-server, or pass -etcd)", err)
	}
	dir, err := os.MkdirTemp(o.dir, "pacific-bench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	runID := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)

	progress("starting etcd, %d members on loopback (data under %s)", o.members, dir)
	etcd, err := startEtcd(ctx, o.etcdBin, dir, o.members, log)
	if err != nil {
		return err
	}
	defer etcd.stop()
	if err := etcd.leaderFirst(ctx); err != nil {
		return err
	}
	progress("starting Pacific, %d API server replicas in this process on loopback (change feed: %v)", o.members, o.feed)
	pac, err := startPacific(ctx, dir, o.members, o.feed, log)
	if err != nil {
		return err
	}
	defer pac.stop()

	etcdEPs, pacEPs, stores := etcd.endpoints, pac.endpoints(), pac.stores()
	if o.leaderOnly {
		etcdEPs, pacEPs, stores = etcdEPs[:1], pacEPs[:1], stores[:1]
	}
	ec, err := dialEtcd(etcdEPs, o.conns)
	if err != nil {
		return err
	}
	defer ec.close()
	api, err := newAPISystem(pacEPs, pac.ca, o.conns, o.valueSize, runID)
	if err != nil {
		return err
	}
	defer api.close()

	nkeys := o.warmup + o.puts1 + o.puts100
	etcdSys := &etcdSystem{etcdClients: ec, value: makeValue(o.valueSize), run: runID}
	systems := []*system{
		{label: "etcd " + etcd.version + " (gRPC)", put: etcdSys.put, get: etcdSys.get},
		{label: "Pacific ResourceService (gRPC)", put: api.put, get: api.get},
	}
	// The feed could not encode the raw rows' kind, so -feed skips them.
	if o.storeLevel && !o.feed {
		st := &storeSystem{stores: stores, value: makeValue(o.valueSize), run: runID}
		systems = append(systems, &system{label: "Pacific store.Store (in-process)", put: st.put, get: st.get})
	}
	for _, s := range systems {
		s.created = make([]atomic.Bool, nkeys)
		s.results = map[string]phaseResult{}
		put := s.put
		s.put = func(ctx context.Context, client, i int) error {
			if err := put(ctx, client, i); err != nil {
				return err
			}
			s.created[i].Store(true)
			return nil
		}
	}

	type phase struct {
		name    string
		clients int
		first   int
		ops     int
		get     bool
	}
	phases := []phase{
		{name: "warm-up", clients: min(10, o.clients), first: 0, ops: o.warmup},
		{name: "put, 1 client", clients: 1, first: o.warmup, ops: o.puts1},
		{name: fmt.Sprintf("put, %d clients", o.clients), clients: o.clients, first: o.warmup + o.puts1, ops: o.puts100},
		{name: fmt.Sprintf("get, %d clients", o.clients), clients: o.clients, ops: o.gets, get: true},
	}
	for _, ph := range phases {
		// Each phase runs in rounds, alternating between the systems, so
		// that disk hiccups and snapshots land on both alike.
		rounds := o.rounds
		if ph.name == "warm-up" || ph.ops < rounds {
			rounds = 1
		}
		fns := make([]opFunc, len(systems))
		for si, s := range systems {
			fns[si] = s.put
			if ph.get {
				keys := createdKeys(s.created)
				if len(keys) == 0 {
					return fmt.Errorf("%s: no keys to read", s.label)
				}
				get := s.get
				fns[si] = func(ctx context.Context, client, i int) error {
					return get(ctx, client, keys[(i*7919)%len(keys)])
				}
			}
		}
		progress("phase %s: up to %d ops per system in %d rounds, at most %s per system", ph.name, ph.ops, rounds, o.phaseTime)
		for round := range rounds {
			first, ops := ph.first+round*(ph.ops/rounds), ph.ops/rounds
			if round == rounds-1 {
				ops = ph.ops - round*(ph.ops/rounds)
			}
			for si, s := range systems {
				if err := ctx.Err(); err != nil {
					return err
				}
				limit := o.phaseTime / time.Duration(rounds)
				opCtx, cancel := context.WithTimeout(ctx, limit+30*time.Second)
				r, err := runLoad(opCtx, ph.clients, first, ops, limit, withTimeout(fns[si], 10*time.Second))
				cancel()
				if err != nil {
					return fmt.Errorf("%s, %s: %w", s.label, ph.name, err)
				}
				progress("  %-34s round %d/%d: %5d ops (%d failed) in %5.2fs: %6.0f/s, p50 %s, p99 %s", s.label, round+1, rounds,
					r.ops, r.errors, r.elapsed.Seconds(), r.perSec(), fmtDur(r.pct(0.50)), fmtDur(r.pct(0.99)))
				s.results[ph.name] = merge(s.results[ph.name], r)
			}
		}
	}

	printReport(os.Stdout, o, systems, phases[1:], func(p phase) string { return p.name })
	e, p := systems[0].results, systems[1].results
	put1, putN, getN := phases[1].name, phases[2].name, phases[3].name
	fmt.Printf("RESULT store_put_100c_ratio=%.2f store_put_1c_p99_ratio=%.2f store_get_100c_ratio=%.2f\n",
		ratio(p[putN].perSec(), e[putN].perSec()),
		ratio(float64(p[put1].pct(0.99)), float64(e[put1].pct(0.99))),
		ratio(p[getN].perSec(), e[getN].perSec()))
	return nil
}

func printReport[P any](w io.Writer, o options, systems []*system, phases []P, name func(P) string) {
	spread := "spread over the replicas (connection 0 on the leader)"
	if o.leaderOnly {
		spread = "all on the leader"
	}
	fmt.Fprintf(w, "\nbench/store: %d replicas each on loopback, %d-byte values, %d gRPC connections %s, %d CPUs, GOMAXPROCS %d\n",
		o.members, o.valueSize, o.conns, spread, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "etcd: separate processes, v3 gRPC KV API (Put of new keys, linearizable Range). Pacific: replicas in this process; ResourceService Create of a Namespace with a %d-byte spec.description and linearizable Get.\n\n", o.valueSize)
	const row = "%-34s %-17s %6s %6s %8s %7s %9s %9s %9s\n"
	fmt.Fprintf(w, row, "system", "phase", "ops", "errors", "seconds", "ops/s", "p50", "p99", "max")
	for _, p := range phases {
		for _, s := range systems {
			r := s.results[name(p)]
			fmt.Fprintf(w, row, s.label, name(p), fmt.Sprint(r.ops), fmt.Sprint(r.errors), fmt.Sprintf("%.2f", r.elapsed.Seconds()),
				fmt.Sprintf("%.0f", r.perSec()), fmtDur(r.pct(0.50)), fmtDur(r.pct(0.99)), fmtDur(r.pct(1)))
		}
	}
	fmt.Fprintln(w)
}

func withTimeout(fn opFunc, d time.Duration) opFunc {
	return func(ctx context.Context, client, i int) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return fn(ctx, client, i)
	}
}

func createdKeys(created []atomic.Bool) []int {
	var keys []int
	for i := range created {
		if created[i].Load() {
			keys = append(keys, i)
		}
	}
	return keys
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// makeValue returns n printable random bytes (valid in a protobuf string).
func makeValue(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b
}
