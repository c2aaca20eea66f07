package hostlifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Defaults for Config.
const (
	DefaultMonitorGrace    = 40 * time.Second
	DefaultEvictionTimeout = 300 * time.Second
)

// Maintenance condition type and reasons.
const (
	MaintenanceCondition = "Maintenance"
	ReasonDraining       = "Draining"
	ReasonDrainBlocked   = "DrainBlocked"
	ReasonInMaintenance  = "InMaintenance"
	ReasonLeaseRenewed   = "HostLeaseRenewed"
)

// drainRecheck is how often a draining host is looked at while pods leave.
const drainRecheck = time.Second

var (
	hostGVK  = apis.GVK{APIVersion: apis.CoreV1, Kind: "Host"}
	leaseGVK = apis.GVK{APIVersion: apis.CoreV1, Kind: "Lease"}
)

// Config configures the controller.
type Config struct {
	// MonitorGrace: no lease renewal seen for this long → Ready=Unknown.
	MonitorGrace time.Duration
	// EvictionTimeout: not Ready for this long → its pods are evicted.
	EvictionTimeout time.Duration
}

// Reconciler drives Host readiness and maintenance.
type Reconciler struct {
	cfg       Config
	hosts     *client.Typed[*corev1.Host]
	pods      *client.Typed[*corev1.Pod]
	evictions corev1.EvictionServiceClient
	rec       *record.Recorder
	log       *slog.Logger
	now       func() time.Time

	mu sync.Mutex
	// seen is, per host, the last renewTime seen and when it was seen.
	seen map[string]observation
}

type observation struct {
	renew    time.Time
	observed time.Time
	// duration is the lease's leaseDurationSeconds: an agent that renews
	// less often than the grace is not lost before its lease expires.
	duration time.Duration
}

// NewController wires the reconciler to watches of Hosts and host Leases.
func NewController(c *client.Client, cfg Config, rec *record.Recorder, logger *slog.Logger) *controller.Controller {
	if cfg.MonitorGrace <= 0 {
		cfg.MonitorGrace = DefaultMonitorGrace
	}
	if cfg.EvictionTimeout <= 0 {
		cfg.EvictionTimeout = DefaultEvictionTimeout
	}
	r := &Reconciler{
		cfg: cfg, hosts: client.For[*corev1.Host](c), pods: client.For[*corev1.Pod](c), evictions: c.Evictions(),
		rec: rec, log: logger.With("controller", "hostlifecycle"), now: time.Now, seen: map[string]observation{},
	}
	rc := c.Resources()
	return &controller.Controller{
		Name:       "hostlifecycle",
		Reconciler: r,
		Sources: []controller.Source{
			controller.KindSource{Client: rc, GVK: hostGVK, Logger: logger}.Source(),
			controller.KindSource{Client: rc, GVK: leaseGVK, Namespace: apis.HostLeaseNamespace, Logger: logger, Map: r.observeLease}.Source(),
		},
		Workers: 2,
		Logger:  logger,
	}
}

// observeLease records a renewal when it is seen. The host is reconciled
// on a new renewal only if it may need to become Ready again; otherwise
// its timer (set by the last reconcile) is enough.
func (r *Reconciler) observeLease(obj apis.Object) []controller.Request {
	l := obj.(*corev1.Lease)
	name := l.GetMetadata().GetName()
	renew := l.GetSpec().GetRenewTime().AsTime()
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, ok := r.seen[name]
	if ok && prev.renew.Equal(renew) {
		return nil
	}
	r.seen[name] = observation{renew: renew, observed: r.now(), duration: time.Duration(l.GetSpec().GetLeaseDurationSeconds()) * time.Second}
	if !ok || r.now().Sub(prev.observed) > r.cfg.MonitorGrace/2 {
		return []controller.Request{{Name: name}}
	}
	return nil
}

// lastSeen returns when a renewal of host's lease was last seen (the
// first look at a host without a lease counts as one) and how long the
// host may stay silent: MonitorGrace, or the lease's duration if longer.
func (r *Reconciler) lastSeen(host string) (time.Time, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.seen[host]
	if !ok {
		o = observation{observed: r.now()}
		r.seen[host] = o
	}
	return o.observed, max(r.cfg.MonitorGrace, o.duration)
}

// Reconcile implements controller.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	host, err := r.hosts.Get(ctx, "", req.Name)
	if client.IsNotFound(err) {
		r.mu.Lock()
		delete(r.seen, req.Name)
		r.mu.Unlock()
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	res, err := r.checkHeartbeat(ctx, host)
	if err != nil {
		return res, err
	}
	mres, err := r.maintain(ctx, host)
	return controller.Result{RequeueAfter: minPositive(res.RequeueAfter, mres.RequeueAfter)}, err
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// checkHeartbeat sets Ready from the lease and evicts pods of hosts lost
// for longer than EvictionTimeout.
func (r *Reconciler) checkHeartbeat(ctx context.Context, host *corev1.Host) (controller.Result, error) {
	name := host.GetMetadata().GetName()
	now := r.now()
	seen, grace := r.lastSeen(name)
	silent := now.Sub(seen)
	ready := apis.FindCondition(host.GetStatus().GetConditions(), apis.HostReady)
	if silent <= grace {
		if ready.GetStatus() == "Unknown" && ready.GetReason() == apis.ReasonHostLeaseExpired {
			msg := fmt.Sprintf("host agent renews lease %s/%s again", apis.HostLeaseNamespace, name)
			if err := r.setCondition(ctx, host, &corev1.Condition{Type: apis.HostReady, Status: "True", Reason: ReasonLeaseRenewed, Message: msg}); err != nil {
				return controller.Result{}, err
			}
			r.rec.Eventf(ctx, host, apis.EventNormal, "HostReady", "Host %s is Ready again: %s", name, msg)
		}
		return controller.Result{RequeueAfter: grace - silent + 100*time.Millisecond}, nil
	}
	if ready.GetStatus() != "Unknown" {
		msg := fmt.Sprintf("host agent has not renewed lease %s/%s for %s (grace %s); its pods are evicted after %s",
			apis.HostLeaseNamespace, name, silent.Round(time.Second), grace, r.cfg.EvictionTimeout)
		if err := r.setCondition(ctx, host, &corev1.Condition{Type: apis.HostReady, Status: "Unknown", Reason: apis.ReasonHostLeaseExpired, Message: msg}); err != nil {
			return controller.Result{}, err
		}
		r.rec.Eventf(ctx, host, apis.EventWarning, "HostNotReady", "Host %s is not Ready: %s", name, msg)
		ready = apis.FindCondition(host.GetStatus().GetConditions(), apis.HostReady)
	}
	down := now.Sub(ready.GetLastTransitionTime().AsTime())
	if down < r.cfg.EvictionTimeout {
		if err := r.markPodsNotReady(ctx, host); err != nil {
			return controller.Result{}, err
		}
		return controller.Result{RequeueAfter: r.cfg.EvictionTimeout - down + 100*time.Millisecond}, nil
	}
	n, err := r.evictAll(ctx, host, down)
	if err != nil {
		return controller.Result{}, err
	}
	if n > 0 {
		return controller.Result{RequeueAfter: drainRecheck}, nil
	}
	// Nothing left; pods bound here later are caught by the next look.
	return controller.Result{RequeueAfter: r.cfg.MonitorGrace}, nil
}

// markPodsNotReady sets Ready=False on the pods of a host that stopped
// reporting: nobody knows whether they serve, so Deployments (and the
// eviction budget) must not count them as available while they wait for
// eviction. The host's agent sets their real status when it returns.
func (r *Reconciler) markPodsNotReady(ctx context.Context, host *corev1.Host) error {
	name := host.GetMetadata().GetName()
	pods, _, err := r.pods.ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return err
	}
	for _, p := range pods {
		ready, _ := apis.PodReady(p)
		if !ready || p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		next := proto.Clone(p).(*corev1.Pod)
		for _, c := range next.GetStatus().GetConditions() {
			if c.GetType() == apis.PodReadyCondition || c.GetType() == apis.PodContainersReadyCondition {
				c.Status, c.Reason = "False", "HostNotReady"
				c.Message = fmt.Sprintf("host %s stopped reporting; the pod's state is unknown", name)
				c.LastTransitionTime = timestamppb.New(r.now())
			}
		}
		_, err := r.pods.UpdateStatus(ctx, next)
		if client.IsNotFound(err) || client.IsConflict(err) {
			continue // gone, or changed: the next look catches it
		}
		if err != nil {
			return fmt.Errorf("mark pod %s not ready: %w", apis.Key(p), err)
		}
	}
	return nil
}

// evictAll deletes every pod bound to an unreachable host that is not
// being deleted yet. They are unavailable already, so no budget applies.
func (r *Reconciler) evictAll(ctx context.Context, host *corev1.Host, down time.Duration) (int, error) {
	name := host.GetMetadata().GetName()
	pods, _, err := r.pods.ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pods {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		err := r.pods.Delete(ctx, p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), client.Precondition(p.GetMetadata().GetResourceVersion()))
		if client.IsNotFound(err) || client.IsConflict(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("evict pod %s from lost host %s: %w", apis.Key(p), name, err)
		}
		n++
		r.rec.Eventf(ctx, p, apis.EventWarning, apis.ReasonEvicted, "Host %s has not been Ready for %s (eviction timeout %s); pod deleted so its owner can replace it elsewhere",
			name, down.Round(time.Second), r.cfg.EvictionTimeout)
		r.log.InfoContext(ctx, "evicted pod from lost host", "pod", apis.Key(p), "host", name)
	}
	return n, nil
}

// maintain drains a host in maintenance and reports progress in the
// Maintenance condition; it removes the condition when maintenance ends.
func (r *Reconciler) maintain(ctx context.Context, host *corev1.Host) (controller.Result, error) {
	name := host.GetMetadata().GetName()
	if !host.GetSpec().GetMaintenance() {
		if apis.FindCondition(host.GetStatus().GetConditions(), MaintenanceCondition) == nil {
			return controller.Result{}, nil
		}
		return controller.Result{}, r.setCondition(ctx, host, &corev1.Condition{Type: MaintenanceCondition})
	}
	pods, _, err := r.pods.ListAll(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return controller.Result{}, err
	}
	// Finished pods hold nothing; they stay for their logs.
	pods = slices.DeleteFunc(pods, func(p *corev1.Pod) bool {
		ph := p.GetStatus().GetPhase()
		return ph == apis.PodSucceeded || ph == apis.PodFailed
	})
	var unowned, waiting []string
	for _, p := range pods {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if apis.ControllerRef(p.GetMetadata()) == nil {
			unowned = append(unowned, apis.Key(p))
			continue
		}
		resp, err := r.evictions.Evict(ctx, &corev1.EvictRequest{
			Namespace: p.GetMetadata().GetNamespace(), Name: p.GetMetadata().GetName(),
			Reason: fmt.Sprintf("host %s entered maintenance", name),
		})
		if err != nil && !client.IsNotFound(err) {
			return controller.Result{}, fmt.Errorf("evict %s for maintenance of %s: %w", apis.Key(p), name, err)
		}
		if err == nil && !resp.GetEvicted() {
			waiting = append(waiting, apis.Key(p)+": "+resp.GetMessage())
		}
	}
	c := &corev1.Condition{Type: MaintenanceCondition, Status: "False", Reason: ReasonDraining}
	switch {
	case len(pods) == 0:
		c.Status, c.Reason, c.Message = "True", ReasonInMaintenance, "no pods run here; the host can be serviced"
	case len(unowned) > 0:
		slices.Sort(unowned)
		c.Reason = ReasonDrainBlocked
		c.Message = fmt.Sprintf("%d pods have no owner and would not be recreated elsewhere: %s. Run apps as Deployments to survive maintenance; delete these pods (or pacctl host drain %s --force) to go on",
			len(unowned), strings.Join(unowned, ", "), name)
	default:
		c.Message = fmt.Sprintf("%d pods still on the host", len(pods))
		if len(waiting) > 0 {
			c.Message += "; waiting for replacements: " + strings.Join(waiting, "; ")
		}
	}
	if err := r.setCondition(ctx, host, c); err != nil {
		return controller.Result{}, err
	}
	if c.Status == "True" {
		return controller.Result{}, nil
	}
	return controller.Result{RequeueAfter: drainRecheck}, nil
}

// setCondition writes one condition of host's status (a condition without
// status removes it). The transition time moves when the status changes.
func (r *Reconciler) setCondition(ctx context.Context, host *corev1.Host, c *corev1.Condition) error {
	old := apis.FindCondition(host.GetStatus().GetConditions(), c.GetType())
	if old.GetStatus() == c.GetStatus() && old.GetReason() == c.GetReason() && old.GetMessage() == c.GetMessage() {
		return nil
	}
	next := proto.Clone(host).(*corev1.Host)
	if next.Status == nil {
		next.Status = &corev1.HostStatus{}
	}
	conds := slices.DeleteFunc(next.Status.Conditions, func(x *corev1.Condition) bool { return x.GetType() == c.GetType() })
	if c.GetStatus() != "" {
		c.LastTransitionTime = timestamppb.New(r.now())
		if old != nil && old.GetStatus() == c.GetStatus() {
			c.LastTransitionTime = old.GetLastTransitionTime()
		}
		conds = append(conds, c)
	}
	next.Status.Conditions = conds
	stored, err := r.hosts.UpdateStatus(ctx, next)
	if err != nil {
		return fmt.Errorf("host %s condition %s: %w", host.GetMetadata().GetName(), c.GetType(), err)
	}
	proto.Reset(host)
	proto.Merge(host, stored)
	return nil
}
