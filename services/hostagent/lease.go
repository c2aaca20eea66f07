package hostagent

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// leaseLoop renews the host's Lease every RenewInterval until ctx ends.
// Failures are retried sooner (the lease must not lapse because of one
// lost request).
func (a *Agent) leaseLoop(ctx context.Context) {
	var last *corev1.Lease
	failures := 0
	for ctx.Err() == nil {
		l, err := a.renewLease(ctx, last)
		wait := a.cfg.RenewInterval
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			last = nil
			wait = min(a.cfg.RenewInterval, Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second}.Delay(failures))
			a.log.Warn("renew lease; will retry", "err", err, "retry", wait)
		} else {
			failures = 0
			last = l
		}
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

// renewLease sets renewTime on the host's lease, taking it over (and
// creating it, and its namespace, if needed). last is the lease as this
// agent last stored it, to save a read.
func (a *Agent) renewLease(ctx context.Context, last *corev1.Lease) (*corev1.Lease, error) {
	return RenewHostLease(ctx, a.leases, a.cfg.HostName, a.cfg.LeaseDuration, last, a.ensureLeaseNamespace)
}

// RenewHostLease renews Lease pacific-system/<host> for its host (the
// agent, or a simulated one): it sets renewTime, taking the lease over and
// creating it if needed (ensureNamespace runs first when it is missing).
// last is the lease as the caller last stored it, to save a read.
func RenewHostLease(ctx context.Context, leases *client.Typed[*corev1.Lease], host string, duration time.Duration,
	last *corev1.Lease, ensureNamespace func(context.Context) error) (*corev1.Lease, error) {
	now := timestamppb.New(time.Now())
	if last != nil {
		l := proto.Clone(last).(*corev1.Lease)
		l.Spec.RenewTime = now
		stored, err := leases.Update(ctx, l)
		if err == nil {
			return stored, nil
		}
		if !client.IsConflict(err) && !client.IsNotFound(err) {
			return nil, err
		}
	}
	l, err := leases.Get(ctx, LeaseNamespace, host)
	if client.IsNotFound(err) {
		if err := ensureNamespace(ctx); err != nil {
			return nil, err
		}
		l, err = leases.Create(ctx, &corev1.Lease{
			Metadata: &corev1.ObjectMeta{Name: host, Namespace: LeaseNamespace},
			Spec: &corev1.LeaseSpec{
				HolderIdentity:       host,
				LeaseDurationSeconds: int32(duration / time.Second),
				AcquireTime:          now,
				RenewTime:            now,
			},
		})
		if !client.IsAlreadyExists(err) {
			return l, err
		}
		// Lost a race to create it: take it over below.
		l, err = leases.Get(ctx, LeaseNamespace, host)
	}
	if err != nil {
		return nil, err
	}
	if l.Spec == nil {
		l.Spec = &corev1.LeaseSpec{}
	}
	if l.Spec.HolderIdentity != host {
		l.Spec.HolderIdentity = host
		l.Spec.AcquireTime = now
		l.Spec.LeaseTransitions++
	}
	l.Spec.LeaseDurationSeconds = int32(duration / time.Second)
	l.Spec.RenewTime = now
	return leases.Update(ctx, l)
}

// ensureLeaseNamespace creates pacific-system if it is missing. An agent
// that may not create namespaces needs an operator to create it.
func (a *Agent) ensureLeaseNamespace(ctx context.Context) error {
	_, err := a.namespaces.Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: LeaseNamespace}})
	switch {
	case err == nil:
		a.log.InfoContext(ctx, "created namespace for host leases", "namespace", LeaseNamespace)
		return nil
	case client.IsAlreadyExists(err):
		return nil
	case client.IsForbidden(err):
		return fmt.Errorf("namespace %s is missing and this agent may not create it (create it once as an administrator): %w", LeaseNamespace, err)
	}
	return err
}
