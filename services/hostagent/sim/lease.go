package sim

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

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

// renewLease renews a simulated host's lease as a real agent does.
func (f *Fleet) renewLease(ctx context.Context, name string, last *corev1.Lease) (*corev1.Lease, error) {
	return hostagent.RenewHostLease(ctx, f.leases, name, f.cfg.LeaseDuration, last, f.ensureLeaseNamespace)
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
