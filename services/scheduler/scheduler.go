package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openpacific/pacific/internal/informer"
	"github.com/openpacific/pacific/internal/leaderelect"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Defaults for Config.
const (
	DefaultLeaseNamespace     = "pacific-system"
	DefaultLeaseName          = "pacific-scheduler"
	DefaultLeaseDuration      = 10 * time.Second
	DefaultBindWorkers        = 128
	DefaultBackoffInitial     = time.Second
	DefaultBackoffMax         = 60 * time.Second
	DefaultUnschedulableFlush = 60 * time.Second
	DefaultEventInterval      = 10 * time.Second
)

// Event reasons (Kubernetes' names) of the Events the scheduler records
// about pods, as component "scheduler".
const (
	ReasonFailedScheduling = "FailedScheduling"
	ReasonScheduled        = "Scheduled"
	eventComponent         = "scheduler"
)

// busyAfterPop: the scheduler counts as busy (its Events wait) this long
// after it last took a pod off its queue.
const busyAfterPop = 500 * time.Millisecond

// PlacementAnnotation on a bound pod explains the scheduler's choice.
const PlacementAnnotation = "scheduler.pacific.dev/placement"

// Config configures a Scheduler.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// Logger (default slog.Default()); adds component=scheduler.
	Logger *slog.Logger
	// Identity in the leader Lease (default hostname-pid-random).
	Identity string
	// LeaseNamespace/LeaseName: the leader Lease (default
	// pacific-system/pacific-scheduler). LeaseDuration: failover time
	// (default 10s).
	LeaseNamespace, LeaseName string
	LeaseDuration             time.Duration
	// Strategy: StrategySpread (default) or StrategyBinpack.
	Strategy string
	// PercentageOfHostsToScore: 0 adapts to the fleet's size (as
	// kube-scheduler); 100 checks every host for every pod.
	PercentageOfHostsToScore int
	// BindWorkers bind pods and write statuses in parallel (default 128):
	// each binding waits for a Raft commit, and the store batches
	// concurrent ones, so many in flight is what makes binding fast.
	BindWorkers int
	// Backoff of unschedulable and failed pods: doubles from
	// BackoffInitial (1s) to BackoffMax (60s). Parked unschedulable pods
	// are retried at least every UnschedulableFlush (60s) even if nothing
	// changed.
	BackoffInitial, BackoffMax, UnschedulableFlush time.Duration
	// EventInterval: the Events about one pod with one reason are written
	// at most this often (default 10s); attempts meanwhile add to the
	// count of the same Event.
	EventInterval time.Duration
}

func (c *Config) setDefaults() error {
	if c.Client == nil {
		return errors.New("scheduler: Client is required")
	}
	switch c.Strategy {
	case "":
		c.Strategy = StrategySpread
	case StrategySpread, StrategyBinpack:
	default:
		return fmt.Errorf("scheduler: strategy %q: want %s or %s", c.Strategy, StrategySpread, StrategyBinpack)
	}
	if c.PercentageOfHostsToScore < 0 || c.PercentageOfHostsToScore > 100 {
		return fmt.Errorf("scheduler: percentage of hosts to score %d: want 0..100", c.PercentageOfHostsToScore)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(1<<16))
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.LeaseDuration, DefaultLeaseDuration)
	def(&c.BackoffInitial, DefaultBackoffInitial)
	def(&c.BackoffMax, DefaultBackoffMax)
	def(&c.UnschedulableFlush, DefaultUnschedulableFlush)
	def(&c.EventInterval, DefaultEventInterval)
	if c.LeaseNamespace == "" {
		c.LeaseNamespace = DefaultLeaseNamespace
	}
	if c.LeaseName == "" {
		c.LeaseName = DefaultLeaseName
	}
	if c.BindWorkers <= 0 {
		c.BindWorkers = DefaultBindWorkers
	}
	return nil
}

// Scheduler places pods. Create it with New and run it with Run.
type Scheduler struct {
	cfg    Config
	log    *slog.Logger
	pods   *client.Typed[*corev1.Pod]
	hosts  *client.Typed[*corev1.Host]
	ns     *client.Typed[*corev1.Namespace]
	events *client.Typed[*corev1.Event]
	leader atomic.Bool
	stats  struct{ bound, conflicts, unschedulable atomic.Int64 }
}

// Stats counts what this replica did since it started.
type Stats struct {
	// Bound pods; Conflicts: bindings the API server refused because the
	// pod had changed (or another scheduler bound it); Unschedulable:
	// attempts that found no host.
	Bound, Conflicts, Unschedulable int64
}

// Stats returns the replica's counters.
func (s *Scheduler) Stats() Stats {
	return Stats{Bound: s.stats.bound.Load(), Conflicts: s.stats.conflicts.Load(), Unschedulable: s.stats.unschedulable.Load()}
}

// New checks cfg; it contacts nothing.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Scheduler{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "scheduler", "identity", cfg.Identity),
		pods:   client.For[*corev1.Pod](cfg.Client),
		hosts:  client.For[*corev1.Host](cfg.Client),
		ns:     client.For[*corev1.Namespace](cfg.Client),
		events: client.For[*corev1.Event](cfg.Client),
	}, nil
}

// IsLeader reports whether this replica schedules right now.
func (s *Scheduler) IsLeader() bool { return s.leader.Load() }

// Run campaigns for the leader Lease and schedules while it leads, until
// ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		_, err := s.ns.Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: s.cfg.LeaseNamespace}})
		if err == nil || client.IsAlreadyExists(err) {
			break
		}
		s.log.Warn("create the leader lease's namespace; will retry", "namespace", s.cfg.LeaseNamespace, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	return leaderelect.Run(ctx, leaderelect.Config{
		Client: s.cfg.Client, Namespace: s.cfg.LeaseNamespace, Name: s.cfg.LeaseName, Identity: s.cfg.Identity,
		LeaseDuration: s.cfg.LeaseDuration, Logger: s.log,
	}, func(ctx context.Context) {
		s.leader.Store(true)
		defer s.leader.Store(false)
		s.lead(ctx)
	})
}

// run is the state of one term as leader: built from scratch by listing,
// so a new leader never trusts what an old term assumed.
type run struct {
	s      *Scheduler
	log    *slog.Logger
	queue  *podQueue
	jobs   chan job
	rng    *rand.Rand
	events *record.Aggregator
	// lastPop is when the last pod was taken off the queue (unix ns): the
	// queue of a fast scheduler is often empty for an instant in a burst.
	lastPop atomic.Int64

	mu      sync.Mutex
	cache   *cache
	pending map[string]*corev1.Pod // unbound pods by key
	assumed map[string]bool        // keys bound in the cache, bind in flight
	next    int                    // where the next host search starts
}

// job is work for the bind workers: a binding (host set) or an
// unschedulable status.
type job struct {
	key         string
	pod         *corev1.Pod
	host        string
	explanation string
}

func (s *Scheduler) lead(ctx context.Context) {
	r := &run{
		s:       s,
		log:     s.log,
		queue:   newPodQueue(s.cfg.BackoffInitial, s.cfg.BackoffMax, s.cfg.UnschedulableFlush),
		jobs:    make(chan job, 4*s.cfg.BindWorkers),
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		cache:   newCache(),
		pending: map[string]*corev1.Pod{},
		assumed: map[string]bool{},
	}
	events, err := record.NewAggregator(record.AggregatorConfig{
		Events: s.events, Component: eventComponent, Logger: s.log, MinInterval: s.cfg.EventInterval,
		// Events wait while pods are being scheduled, so a burst of pods
		// is not slowed by its own Events.
		Busy: func() bool {
			return len(r.jobs) > 0 || r.queue.busy() || time.Since(time.Unix(0, r.lastPop.Load())) < busyAfterPop
		},
	})
	if err != nil {
		s.log.Error("event recorder", "err", err) // only a programming error gets here
		return
	}
	r.events = events
	var wg sync.WaitGroup
	hostsSynced, podsSynced := make(chan struct{}), make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = informer.Run(ctx, s.hosts, client.WatchOptions{}, informer.Handler[*corev1.Host]{
			Upsert: r.hostChanged, Delete: r.hostDeleted, Synced: closeOnce(hostsSynced),
		}, s.log)
	}()
	go func() {
		defer wg.Done()
		_ = informer.Run(ctx, s.pods, client.WatchOptions{}, informer.Handler[*corev1.Pod]{
			Upsert: r.podChanged, Delete: r.podDeleted, Synced: closeOnce(podsSynced),
		}, s.log)
	}()
	for _, ch := range []chan struct{}{hostsSynced, podsSynced} {
		select {
		case <-ch:
		case <-ctx.Done():
			r.queue.close()
			wg.Wait()
			return
		}
	}
	s.log.Info("scheduling", "hosts", len(r.cache.hosts))
	wg.Add(s.cfg.BindWorkers + 2)
	go func() {
		defer wg.Done()
		r.events.Run(ctx)
	}()
	for range s.cfg.BindWorkers {
		go func() {
			defer wg.Done()
			r.worker(ctx)
		}()
	}
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				r.queue.close()
				return
			case <-tick.C:
				r.queue.tick()
			}
		}
	}()
	for {
		key, ok := r.queue.pop()
		if !ok {
			break
		}
		r.lastPop.Store(time.Now().UnixNano())
		r.scheduleOne(ctx, key)
	}
	close(r.jobs)
	wg.Wait()
	// The term ended: write what events are pending (bounded), as the
	// host agent does when it drains, instead of dropping their counts.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventFlushTimeout)
	defer cancel()
	r.events.Flush(fctx)
}

// eventFlushTimeout bounds the final event writes of a scheduling term.
const eventFlushTimeout = 5 * time.Second

func closeOnce(ch chan struct{}) func() {
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}
