package sim

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent"
)

// leaseLoop renews the lease of every running host once per
// RenewInterval. Hosts are renewed when due, so registrations spread over
// time keep the renewals spread too.
func (f *Fleet) leaseLoop(ctx context.Context) {
	tick := time.NewTicker(max(f.cfg.RenewInterval/8, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		var due []string
		f.mu.Lock()
		for name, m := range f.members {
			if m.running && now.Sub(m.renewed) >= f.cfg.RenewInterval {
				due = append(due, name)
			}
		}
		f.mu.Unlock()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4 * runtime.GOMAXPROCS(0))
		for _, name := range due {
			g.Go(func() error {
				f.renewOne(gctx, name)
				return nil
			})
		}
		_ = g.Wait()
	}
}

func (f *Fleet) renewOne(ctx context.Context, name string) {
	f.mu.Lock()
	m := f.members[name]
	if m == nil || !m.running {
		f.mu.Unlock()
		return
	}
	last := m.lease
	f.mu.Unlock()
	l, err := f.renewLease(ctx, name, last)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("renew sim host lease; will retry", "host", name, "err", err)
		}
		m.lease = nil
		// Retry after a tenth of the interval rather than a whole one.
		m.renewed = time.Now().Add(-f.cfg.RenewInterval + f.cfg.RenewInterval/10)
		return
	}
	if m.running {
		m.lease, m.renewed = l, time.Now()
	}
}

// renewLease sets renewTime on the host's lease, creating or taking it
// over if needed; last saves a read.
func (f *Fleet) renewLease(ctx context.Context, name string, last *corev1.Lease) (*corev1.Lease, error) {
	now := timestamppb.New(time.Now())
	if last != nil {
		l := proto.Clone(last).(*corev1.Lease)
		l.Spec.RenewTime = now
		stored, err := f.leases.Update(ctx, l)
		if err == nil {
			return stored, nil
		}
		if !client.IsConflict(err) && !client.IsNotFound(err) {
			return nil, err
		}
	}
	l, err := f.leases.Get(ctx, hostagent.LeaseNamespace, name)
	if client.IsNotFound(err) {
		l, err = f.leases.Create(ctx, &corev1.Lease{
			Metadata: &corev1.ObjectMeta{Name: name, Namespace: hostagent.LeaseNamespace},
			Spec: &corev1.LeaseSpec{
				HolderIdentity:       name,
				LeaseDurationSeconds: int32(f.cfg.LeaseDuration / time.Second),
				AcquireTime:          now,
				RenewTime:            now,
			},
		})
		if client.IsAlreadyExists(err) {
			return f.renewLease(ctx, name, nil)
		}
		return l, err
	}
	if err != nil {
		return nil, err
	}
	if l.Spec == nil {
		l.Spec = &corev1.LeaseSpec{}
	}
	if l.Spec.HolderIdentity != name {
		l.Spec.HolderIdentity, l.Spec.AcquireTime = name, now
		l.Spec.LeaseTransitions++
	}
	l.Spec.LeaseDurationSeconds = int32(f.cfg.LeaseDuration / time.Second)
	l.Spec.RenewTime = now
	return f.leases.Update(ctx, l)
}

func (f *Fleet) ensureLeaseNamespace(ctx context.Context) error {
	if f.nsOK.Load() {
		return nil
	}
	_, err := f.ns.Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: hostagent.LeaseNamespace}})
	if err != nil && !client.IsAlreadyExists(err) {
		return fmt.Errorf("sim: namespace %s for host leases: %w", hostagent.LeaseNamespace, err)
	}
	f.nsOK.Store(true)
	return nil
}
