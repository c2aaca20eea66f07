package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/validation"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// Defaults for Config.
const (
	DefaultLeaseDuration      = 40 * time.Second
	DefaultRenewInterval      = 10 * time.Second
	DefaultHostStatusInterval = time.Minute
	DefaultResync             = time.Minute
	DefaultWorkers            = 8
	DefaultBackoffBase        = 10 * time.Second
	DefaultBackoffMax         = 5 * time.Minute
	DefaultBackoffReset       = 10 * time.Minute
	DefaultDrainTimeout       = 10 * time.Second
	DefaultMaxPods            = 110
	DefaultHostIP             = "127.0.0.1"
	DefaultReservedCPUMillis  = 100
	DefaultReservedMemory     = 256 << 20
	// LeaseNamespace holds the host leases.
	LeaseNamespace = "pacific-system"
)

// Config configures an Agent.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// HostName is the Host's name (DNS-1123 subdomain). Required.
	HostName string
	// Runtime runs the pods' containers. Required.
	Runtime runtime.Runtime
	// Images pulls images and assembles root filesystems. Required.
	Images Images
	// StateDir holds the agent's files: emptyDir volumes under
	// pods/<uid>/. Required, absolute.
	StateDir string
	// RunDir holds the root filesystem mount points, under pods/<uid>/:
	// nothing a reboot should keep; best on a tmpfs (package rundir,
	// decision 0035). Default: StateDir.
	RunDir string
	// Logger (default slog.Default()); the agent adds component=hostagent.
	Logger *slog.Logger

	// LeaseDuration is the Lease's leaseDurationSeconds (default 40s);
	// RenewInterval how often it is renewed (default 10s).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	// HostStatusInterval is how often the Host's status is recomputed
	// (written only when it changed; default 1m).
	HostStatusInterval time.Duration
	// Resync relists pods and local sandboxes this often (default 1m).
	Resync time.Duration
	// Workers reconcile pods in parallel (default 8: on 2 CPUs, with two
	// start slots per CPU, four more pods get their sandboxes and root
	// filesystems ready meanwhile).
	Workers int
	// BackoffBase and BackoffMax bound container restarts (CrashLoopBackOff)
	// and image pull retries (ImagePullBackOff): the delay doubles from
	// Base to Max (defaults 10s, 5m). BackoffReset: a container that ran
	// at least this long restarts without delay (default 10m).
	BackoffBase  time.Duration
	BackoffMax   time.Duration
	BackoffReset time.Duration
	// DrainTimeout bounds the shutdown of Run after ctx ends (default 10s).
	DrainTimeout time.Duration
	// VolumeCheckInterval is how often disk-backed emptyDir volumes with a
	// sizeLimit are measured; a pod over a limit is evicted (default 10s).
	VolumeCheckInterval time.Duration
	// HostIP is reported as the pods' hostIP and the Host's InternalIP
	// (default 127.0.0.1: dev hosts expose only loopback).
	HostIP string
	// MaxPods is the Host's pods capacity (default 110).
	MaxPods int
	// ReservedCPUMillis and ReservedMemoryBytes are kept back from
	// allocatable for the system and the agent (defaults 100m, 256Mi).
	ReservedCPUMillis   int64
	ReservedMemoryBytes int64
	// AgentAddress is where this agent serves HostAgentService (logs,
	// exec); the API server forwards to it. Reported in the Host's status.
	AgentAddress string
	// AgentVersion is reported in the Host's info (default "dev").
	AgentVersion string
}

func (c *Config) setDefaults() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("Client is required"))
	}
	if c.HostName == "" {
		errs = append(errs, errors.New("HostName is required"))
	} else if err := validation.DNS1123Subdomain(c.HostName); err != nil {
		errs = append(errs, fmt.Errorf("HostName %q: %w", c.HostName, err))
	}
	if c.Runtime == nil {
		errs = append(errs, errors.New("Runtime is required"))
	}
	if c.Images == nil {
		errs = append(errs, errors.New("Images is required"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("StateDir is required"))
	} else if c.StateDir[0] != '/' {
		errs = append(errs, fmt.Errorf("StateDir %q must be absolute", c.StateDir))
	}
	if c.RunDir == "" {
		c.RunDir = c.StateDir
	} else if c.RunDir[0] != '/' {
		errs = append(errs, fmt.Errorf("RunDir %q must be absolute", c.RunDir))
	}
	if len(errs) > 0 {
		return fmt.Errorf("hostagent: %w", errors.Join(errs...))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	setDefault(&c.LeaseDuration, DefaultLeaseDuration)
	setDefault(&c.RenewInterval, DefaultRenewInterval)
	setDefault(&c.HostStatusInterval, DefaultHostStatusInterval)
	setDefault(&c.Resync, DefaultResync)
	setDefault(&c.Workers, DefaultWorkers)
	setDefault(&c.BackoffBase, DefaultBackoffBase)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.BackoffReset, DefaultBackoffReset)
	setDefault(&c.DrainTimeout, DefaultDrainTimeout)
	setDefault(&c.VolumeCheckInterval, DefaultVolumeCheckInterval)
	setDefault(&c.HostIP, DefaultHostIP)
	setDefault(&c.MaxPods, DefaultMaxPods)
	setDefault(&c.ReservedCPUMillis, DefaultReservedCPUMillis)
	setDefault(&c.ReservedMemoryBytes, DefaultReservedMemory)
	setDefault(&c.AgentVersion, "dev")
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = c.BackoffBase
	}
	if c.LeaseDuration < 1 {
		c.LeaseDuration = time.Second
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Agent is a host agent. Create it with New and start it with Run.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	rt      runtime.Runtime
	images  Images
	backoff Backoff

	pods       *client.Typed[*corev1.Pod]
	hosts      *client.Typed[*corev1.Host]
	leases     *client.Typed[*corev1.Lease]
	namespaces *client.Typed[*corev1.Namespace]
	recorder   *record.Aggregator
	reconciles reconciles
	kicks      *kicker

	// bg is the context of background work (pulls, waits, probes, stops):
	// set by Run, cancelled when Run drains.
	bg context.Context
	wg sync.WaitGroup

	mu   sync.Mutex
	recs map[string]*podRecord // by pod UID
	// waiting holds the runtime IDs of containers whose exit is awaited.
	waiting map[string]bool
	// stopping holds the UIDs of pods whose containers are being stopped.
	stopping map[string]bool
	// seen is the freshest version of each pod bound here, from the watch
	// and from this agent's own writes: Reconcile reads it like an
	// informer's cache (a stale version only makes a write conflict and
	// retry on a fresh read), and it keeps crashed containers restarting
	// while the API server is unreachable.
	seen map[controller.Request]*corev1.Pod
	// echoes are the resource versions of this agent's last write of each
	// pod, until the watch delivers them (see remember).
	echoes map[controller.Request]int64
	// writing counts this agent's writes of each pod still unanswered;
	// held are the versions the watch delivered meanwhile, which may be
	// their echoes (see beginWrite).
	writing map[controller.Request]int
	held    map[controller.Request][]int64
}

// New checks cfg and returns an agent. It does not contact anything.
func New(cfg Config) (*Agent, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.StateDir, cfg.RunDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("hostagent: %w", err)
		}
	}
	log := cfg.Logger.With("component", "hostagent", "host", cfg.HostName)
	a := &Agent{
		cfg:        cfg,
		log:        log,
		rt:         cfg.Runtime,
		images:     cfg.Images,
		backoff:    Backoff{Base: cfg.BackoffBase, Max: cfg.BackoffMax},
		pods:       client.For[*corev1.Pod](cfg.Client),
		hosts:      client.For[*corev1.Host](cfg.Client),
		leases:     client.For[*corev1.Lease](cfg.Client),
		namespaces: client.For[*corev1.Namespace](cfg.Client),
		kicks:      newKicker(),
		recs:       map[string]*podRecord{},
		waiting:    map[string]bool{},
		stopping:   map[string]bool{},
		seen:       map[controller.Request]*corev1.Pod{},
		echoes:     map[controller.Request]int64{},
		writing:    map[controller.Request]int{},
		held:       map[controller.Request][]int64{},
	}
	rec, err := newEventRecorder(client.For[*corev1.Event](cfg.Client), cfg.HostName, a.reconciles.busy, log)
	if err != nil {
		return nil, fmt.Errorf("hostagent: %w", err)
	}
	a.recorder = rec
	return a, nil
}

// HostName is the name of the Host this agent registers.
func (a *Agent) HostName() string { return a.cfg.HostName }

// Run registers the host, renews its lease and drives its pods until ctx
// ends; call it once. It then drains (background work stops, pending events are written,
// within DrainTimeout) and returns, leaving every container running: a
// new agent re-adopts them.
func (a *Agent) Run(ctx context.Context) error {
	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	a.bg = bg
	defer cancelBG()

	// Re-adopt what a previous agent left. A partial failure (e.g. a
	// leftover that could not be removed) must not keep the host from
	// running its pods: the pods' reconciles retry what is broken.
	rec, err := a.rt.Recover(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "recover runtime state", "err", err)
	}
	a.log.InfoContext(ctx, "host agent starting", "runtime", a.rt.Name(), "sandboxes", len(rec.Sandboxes), "containers", len(rec.Containers))

	var loops sync.WaitGroup
	loops.Go(func() { a.hostLoop(ctx) })
	loops.Go(func() { a.leaseLoop(ctx) })
	loops.Go(func() { a.recorder.Run(ctx) })
	loops.Go(func() { a.volumeLimitLoop(ctx) })

	ctrl := &controller.Controller{
		Name: "hostagent-pods",
		Reconciler: controller.ReconcileFunc(func(ctx context.Context, req controller.Request) (controller.Result, error) {
			defer a.reconciles.start()()
			return a.Reconcile(ctx, req)
		}),
		Sources:   []controller.Source{a.podSource, a.kicks.source},
		Workers:   a.cfg.Workers,
		Logger:    a.log,
		BaseDelay: 100 * time.Millisecond,
		MaxDelay:  30 * time.Second,
	}
	err = ctrl.Start(ctx)
	loops.Wait()

	// Drain: stop background work (containers keep running), then write
	// what events are pending.
	a.log.Info("host agent draining")
	cancelBG()
	drained := make(chan struct{})
	go func() { a.wg.Wait(); close(drained) }()
	timer := time.NewTimer(a.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		a.log.Warn("drain timed out; background work still running", "timeout", a.cfg.DrainTimeout)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DrainTimeout)
	defer cancel()
	a.recorder.Flush(fctx)
	a.log.Info("host agent stopped")
	return err
}

// goBG runs fn in the background (until Run drains).
func (a *Agent) goBG(fn func(ctx context.Context)) {
	a.wg.Go(func() { fn(a.bg) })
}
