package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/informer"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/validation"
	"github.com/openpacific/pacific/services/hostagent"
)

// Labels every simulated Host carries.
const (
	SimulatedLabel = "pacific.dev/simulated"
	RuntimeName    = "sim"
)

// Defaults for Config.
const (
	DefaultCPUMillis   = 4000
	DefaultMemoryBytes = 8 << 30
	DefaultMaxPods     = 110
	DefaultWorkers     = 8
)

// Config configures a Fleet.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// Logger (default slog.Default()); adds component=simhosts.
	Logger *slog.Logger
	// Defaults for hosts whose HostConfig leaves them zero: 4 CPUs, 8 GiB,
	// 110 pods.
	CPUMillis   int64
	MemoryBytes int64
	MaxPods     int
	// LeaseDuration and RenewInterval as for the real agent (40s, 10s).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	// Workers write pod statuses in parallel (default 8).
	Workers int
	// LeasesOnly: hosts register and renew leases but leave pods alone
	// (for benchmarks of the control plane without host agents' writes).
	LeasesOnly bool
}

// HostConfig describes one simulated host.
type HostConfig struct {
	// Name is the Host's name (DNS-1123 subdomain). Required.
	Name string
	// Labels are added to pacific.dev/hostname and pacific.dev/simulated.
	Labels      map[string]string
	CPUMillis   int64
	MemoryBytes int64
	MaxPods     int
}

// Fleet is a set of simulated hosts. Create it with New, add hosts with
// AddHost(s) (before or while Run runs) and run it with Run.
type Fleet struct {
	cfg    Config
	log    *slog.Logger
	pods   *client.Typed[*corev1.Pod]
	hosts  *client.Typed[*corev1.Host]
	leases *client.Typed[*corev1.Lease]
	ns     *client.Typed[*corev1.Namespace]
	queue  *controller.Queue
	nsOK   atomic.Bool

	mu      sync.Mutex
	members map[string]*member
	cache   map[controller.Request]*corev1.Pod
}

// member is one simulated host.
type member struct {
	cfg     HostConfig
	running bool
	lease   *corev1.Lease // as last stored, to renew without a read
	renewed time.Time
	// runs holds the UIDs of the pods this host "runs".
	runs map[string]bool
}

// New checks cfg. It contacts nothing.
func New(cfg Config) (*Fleet, error) {
	if cfg.Client == nil {
		return nil, errors.New("sim: Client is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	setDefault(&cfg.CPUMillis, DefaultCPUMillis)
	setDefault(&cfg.MemoryBytes, DefaultMemoryBytes)
	setDefault(&cfg.MaxPods, DefaultMaxPods)
	setDefault(&cfg.LeaseDuration, hostagent.DefaultLeaseDuration)
	setDefault(&cfg.RenewInterval, hostagent.DefaultRenewInterval)
	setDefault(&cfg.Workers, DefaultWorkers)
	if cfg.CPUMillis < 0 || cfg.MemoryBytes < 0 || cfg.MaxPods < 0 {
		return nil, fmt.Errorf("sim: CPUMillis, MemoryBytes and MaxPods must not be negative")
	}
	return &Fleet{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "simhosts"),
		pods:    client.For[*corev1.Pod](cfg.Client),
		hosts:   client.For[*corev1.Host](cfg.Client),
		leases:  client.For[*corev1.Lease](cfg.Client),
		ns:      client.For[*corev1.Namespace](cfg.Client),
		queue:   controller.NewQueue(50*time.Millisecond, 10*time.Second),
		members: map[string]*member{},
		cache:   map[controller.Request]*corev1.Pod{},
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Names returns the names of the fleet's hosts, sorted.
func (f *Fleet) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.members))
	for n := range f.members {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AddHost registers a simulated host (its Host, Ready, and its Lease) and
// starts it. Adding a name twice is an error.
func (f *Fleet) AddHost(ctx context.Context, hc HostConfig) error {
	if err := validation.DNS1123Subdomain(hc.Name); err != nil {
		return fmt.Errorf("sim host %q: %w", hc.Name, err)
	}
	setDefault(&hc.CPUMillis, f.cfg.CPUMillis)
	setDefault(&hc.MemoryBytes, f.cfg.MemoryBytes)
	setDefault(&hc.MaxPods, f.cfg.MaxPods)
	f.mu.Lock()
	if _, dup := f.members[hc.Name]; dup {
		f.mu.Unlock()
		return fmt.Errorf("sim host %q added twice", hc.Name)
	}
	m := &member{cfg: hc, runs: map[string]bool{}}
	f.members[hc.Name] = m
	f.mu.Unlock()
	if err := f.start(ctx, m); err != nil {
		f.mu.Lock()
		delete(f.members, hc.Name)
		f.mu.Unlock()
		return err
	}
	return nil
}

// AddHosts adds hosts with bounded concurrency.
func (f *Fleet) AddHosts(ctx context.Context, hcs []HostConfig) error {
	if err := f.ensureLeaseNamespace(ctx); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4 * runtime.GOMAXPROCS(0))
	for _, hc := range hcs {
		g.Go(func() error { return f.AddHost(ctx, hc) })
	}
	return g.Wait()
}

// Stop simulates the death of a host's agent: no more lease renewals or
// pod status updates for it until Start.
func (f *Fleet) Stop(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[name]
	if !ok {
		return fmt.Errorf("sim host %q: not in this fleet", name)
	}
	m.running = false
	m.lease = nil
	return nil
}

// Start brings a stopped host back: Ready again, lease renewed, and only
// the pods still bound to it run (pods evicted meanwhile are forgotten).
func (f *Fleet) Start(ctx context.Context, name string) error {
	f.mu.Lock()
	m, ok := f.members[name]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("sim host %q: not in this fleet", name)
	}
	return f.start(ctx, m)
}

// Running reports whether the host's simulated agent runs.
func (f *Fleet) Running(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[name]
	return ok && m.running
}

// RunningPods returns the UIDs of the pods the host "runs", sorted.
func (f *Fleet) RunningPods(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[name]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(m.runs))
	for uid := range m.runs {
		out = append(out, uid)
	}
	sort.Strings(out)
	return out
}

func (f *Fleet) start(ctx context.Context, m *member) error {
	if err := f.ensureLeaseNamespace(ctx); err != nil {
		return err
	}
	if err := f.registerHost(ctx, m.cfg); err != nil {
		return err
	}
	lease, err := f.renewLease(ctx, m.cfg.Name, nil)
	if err != nil {
		return err
	}
	f.mu.Lock()
	m.running, m.lease, m.renewed = true, lease, time.Now()
	// Forget what ran before: pods still bound here are re-adopted below,
	// the rest were evicted or deleted while the agent was down.
	m.runs = map[string]bool{}
	var mine []controller.Request
	for key, p := range f.cache {
		if p.GetSpec().GetNodeName() == m.cfg.Name {
			mine = append(mine, key)
		}
	}
	f.mu.Unlock()
	for _, key := range mine {
		f.queue.Add(key)
	}
	return nil
}

// Run writes pod statuses and renews leases until ctx ends.
func (f *Fleet) Run(ctx context.Context) error {
	if err := f.ensureLeaseNamespace(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2 + f.cfg.Workers)
	go func() {
		defer wg.Done()
		if f.cfg.LeasesOnly {
			return
		}
		// Bound pods only: nodeName never changes once set.
		_ = informer.Run(ctx, f.pods, client.WatchOptions{FieldSelector: "spec.nodeName!="}, informer.Handler[*corev1.Pod]{
			Upsert: f.podChanged,
			Delete: f.podDeleted,
		}, f.log)
	}()
	go func() {
		defer wg.Done()
		f.leaseLoop(ctx)
	}()
	for range f.cfg.Workers {
		go func() {
			defer wg.Done()
			for {
				key, ok := f.queue.Get()
				if !ok {
					return
				}
				if err := f.reconcile(ctx, key); err != nil {
					if ctx.Err() == nil {
						f.log.Debug("pod status; will retry", "pod", key.String(), "err", err)
					}
					f.queue.AddRateLimited(key)
				} else {
					f.queue.Forget(key)
				}
				f.queue.Done(key)
			}
		}()
	}
	<-ctx.Done()
	f.queue.ShutDown()
	wg.Wait()
	return nil
}

func keyOf(p *corev1.Pod) controller.Request {
	return controller.Request{Namespace: p.GetMetadata().GetNamespace(), Name: p.GetMetadata().GetName()}
}

func (f *Fleet) podChanged(p *corev1.Pod) {
	f.mu.Lock()
	f.cache[keyOf(p)] = p
	_, ours := f.members[p.GetSpec().GetNodeName()]
	f.mu.Unlock()
	if ours {
		f.queue.Add(keyOf(p))
	}
}

func (f *Fleet) podDeleted(p *corev1.Pod) {
	f.mu.Lock()
	delete(f.cache, keyOf(p))
	if m, ok := f.members[p.GetSpec().GetNodeName()]; ok && m.running {
		delete(m.runs, p.GetMetadata().GetUid())
	}
	f.mu.Unlock()
}

// releasePod removes the host agent's finalizer from a deleted pod, as a
// real agent does once its containers are gone; a conflict is retried by
// the queue with the cache's newer copy.
func (f *Fleet) releasePod(ctx context.Context, p *corev1.Pod) error {
	next := proto.Clone(p).(*corev1.Pod)
	if !apis.RemoveFinalizer(next.GetMetadata(), apis.HostAgentFinalizer) {
		return nil
	}
	_, err := f.pods.Update(ctx, next)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// reconcile "runs" a pod bound to a running simulated host: it records it
// and writes a Running status unless the stored one already says so.
func (f *Fleet) reconcile(ctx context.Context, key controller.Request) error {
	f.mu.Lock()
	p := f.cache[key]
	var m *member
	if p != nil {
		m = f.members[p.GetSpec().GetNodeName()]
	}
	if p == nil || m == nil || !m.running {
		f.mu.Unlock()
		return nil
	}
	if p.GetMetadata().GetDeletionTimestamp() != nil {
		delete(m.runs, p.GetMetadata().GetUid())
		f.mu.Unlock()
		return f.releasePod(ctx, p)
	}
	m.runs[p.GetMetadata().GetUid()] = true
	f.mu.Unlock()
	st := runningStatus(p, time.Now())
	if st == nil {
		return nil
	}
	next := &corev1.Pod{Metadata: p.GetMetadata(), Status: st}
	_, err := f.pods.UpdateStatus(ctx, next)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}
