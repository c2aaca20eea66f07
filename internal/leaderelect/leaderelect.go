package leaderelect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Config configures an election.
type Config struct {
	// Client talks to the API server. Required.
	Client *client.Client
	// Namespace and Name of the Lease. Required.
	Namespace, Name string
	// Identity of this replica (unique among candidates). Required.
	Identity string
	// LeaseDuration: how long a lease that stopped changing stays valid
	// (default 10s). RetryPeriod: how often the leader renews and a
	// candidate checks (default LeaseDuration/4).
	LeaseDuration time.Duration
	RetryPeriod   time.Duration
	Logger        *slog.Logger
}

func (c *Config) check() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("Client is required"))
	}
	if c.Namespace == "" || c.Name == "" {
		errs = append(errs, errors.New("Namespace and Name are required"))
	}
	if c.Identity == "" {
		errs = append(errs, errors.New("Identity is required"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("leaderelect: %w", errors.Join(errs...))
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 10 * time.Second
	}
	if c.LeaseDuration < time.Second {
		c.LeaseDuration = time.Second
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = c.LeaseDuration / 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Run campaigns until ctx ends. While this replica leads, lead runs with
// a context that ends when leadership is lost (or ctx ends); Run waits for
// lead to return before campaigning again. A leader that stops renewing
// in time gives up before others may take over.
func Run(ctx context.Context, cfg Config, lead func(ctx context.Context)) error {
	if err := cfg.check(); err != nil {
		return err
	}
	e := &elector{cfg: cfg, leases: client.For[*corev1.Lease](cfg.Client), log: cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)}
	for ctx.Err() == nil {
		if !e.acquire(ctx) {
			return nil
		}
		e.log.Info("became leader")
		leadCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			lead(leadCtx)
		}()
		e.renew(leadCtx)
		cancel()
		<-done
		if ctx.Err() == nil {
			e.log.Warn("lost leadership")
		}
	}
	e.release()
	return nil
}

type elector struct {
	cfg    Config
	leases *client.Typed[*corev1.Lease]
	log    *slog.Logger

	current *corev1.Lease // as last read or written
	// observed is when this replica last saw the lease change.
	observed    time.Time
	observedRev int64
}

// acquire returns true once this replica holds the lease, false when ctx
// ended.
func (e *elector) acquire(ctx context.Context) bool {
	for {
		ok, err := e.tryAcquireOrRenew(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Debug("acquire lease", "err", err)
		}
		if ok {
			return true
		}
		if !sleep(ctx, e.cfg.RetryPeriod) {
			return false
		}
	}
}

// renew keeps the lease until ctx ends or no renewal succeeds within the
// lease duration less one retry period: the leader steps down before any
// other replica may consider the lease expired.
func (e *elector) renew(ctx context.Context) {
	lastRenew := time.Now()
	deadline := e.cfg.LeaseDuration - e.cfg.RetryPeriod
	for {
		left := time.Until(lastRenew.Add(deadline))
		if left <= 0 {
			e.log.Warn("could not renew the lease in time; stepping down")
			return
		}
		if !sleep(ctx, min(e.cfg.RetryPeriod, left)) {
			return
		}
		left = time.Until(lastRenew.Add(deadline))
		if left <= 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, left)
		ok, err := e.tryAcquireOrRenew(rctx)
		cancel()
		switch {
		case ok:
			lastRenew = time.Now()
		case ctx.Err() != nil:
			return
		case err == nil:
			return // someone else holds it
		default:
			e.log.Debug("renew lease", "err", err)
		}
	}
}

func (e *elector) tryAcquireOrRenew(ctx context.Context) (bool, error) {
	now := time.Now()
	l, err := e.leases.Get(ctx, e.cfg.Namespace, e.cfg.Name)
	if client.IsNotFound(err) {
		l, err = e.leases.Create(ctx, &corev1.Lease{
			Metadata: &corev1.ObjectMeta{Name: e.cfg.Name, Namespace: e.cfg.Namespace},
			Spec:     e.spec(nil, now),
		})
		if err != nil {
			return false, err
		}
		e.remember(l, now)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if l.GetMetadata().GetResourceVersion() != e.observedRev {
		e.observed, e.observedRev = now, l.GetMetadata().GetResourceVersion()
	}
	e.current = l
	held := l.GetSpec().GetHolderIdentity()
	expired := now.Sub(e.observed) >= time.Duration(l.GetSpec().GetLeaseDurationSeconds())*time.Second
	if held != "" && held != e.cfg.Identity && !expired {
		return false, nil
	}
	next := proto.Clone(l).(*corev1.Lease)
	next.Spec = e.spec(l.GetSpec(), now)
	stored, err := e.leases.Update(ctx, next)
	if err != nil {
		return false, err
	}
	e.remember(stored, now)
	return true, nil
}

func (e *elector) spec(old *corev1.LeaseSpec, now time.Time) *corev1.LeaseSpec {
	ts := timestamppb.New(now)
	s := &corev1.LeaseSpec{
		HolderIdentity:       e.cfg.Identity,
		LeaseDurationSeconds: int32((e.cfg.LeaseDuration + time.Second - 1) / time.Second),
		AcquireTime:          ts,
		RenewTime:            ts,
		LeaseTransitions:     old.GetLeaseTransitions(),
	}
	if old.GetHolderIdentity() == e.cfg.Identity {
		s.AcquireTime = old.GetAcquireTime()
	} else if old != nil {
		s.LeaseTransitions++
	}
	return s
}

func (e *elector) remember(l *corev1.Lease, now time.Time) {
	e.current, e.observed, e.observedRev = l, now, l.GetMetadata().GetResourceVersion()
}

// release gives the lease up on shutdown so another replica takes over at
// once instead of after the lease duration.
func (e *elector) release() {
	if e.current == nil || e.current.GetSpec().GetHolderIdentity() != e.cfg.Identity {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l := proto.Clone(e.current).(*corev1.Lease)
	l.Spec.HolderIdentity = ""
	if _, err := e.leases.Update(ctx, l); err != nil {
		e.log.Debug("release lease", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
