package replicaset

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
)

// maxBurst bounds the pods created or deleted by one reconcile, so a
// ReplicaSet scaled to thousands does not hold a worker for long; the next
// reconcile continues.
const maxBurst = 100

var (
	replicaSetGVK = apis.GVK{APIVersion: apis.CoreV1, Kind: "ReplicaSet"}
	podGVK        = apis.GVK{APIVersion: apis.CoreV1, Kind: "Pod"}
)

// Reconciler drives ReplicaSets.
type Reconciler struct {
	ReplicaSets *client.Typed[*corev1.ReplicaSet]
	Pods        *client.Typed[*corev1.Pod]
	Recorder    *record.Recorder
	Logger      *slog.Logger
	Now         func() time.Time
}

// NewController wires the reconciler to watches of ReplicaSets and of the
// pods they own.
func NewController(c *client.Client, rec *record.Recorder, logger *slog.Logger) *controller.Controller {
	r := &Reconciler{
		ReplicaSets: client.For[*corev1.ReplicaSet](c),
		Pods:        client.For[*corev1.Pod](c),
		Recorder:    rec,
		Logger:      logger,
		Now:         time.Now,
	}
	rc := c.Resources()
	return &controller.Controller{
		Name:       "replicaset",
		Reconciler: r,
		Sources: []controller.Source{
			controller.KindSource{Client: rc, GVK: replicaSetGVK, Logger: logger}.Source(),
			controller.KindSource{Client: rc, GVK: podGVK, Logger: logger, Map: controller.OwnerKeys(replicaSetGVK)}.Source(),
		},
		Workers: 4,
		Logger:  logger,
	}
}

// Reconcile implements controller.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	rs, err := r.ReplicaSets.Get(ctx, req.Namespace, req.Name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if rs.GetMetadata().GetDeletionTimestamp() != nil {
		return controller.Result{}, nil // the garbage collector deletes its pods
	}
	pods, err := r.ownedPods(ctx, rs)
	if err != nil {
		return controller.Result{}, err
	}
	// Pods marked as leaving by the eviction API still run (and count in
	// status) but no longer fill a replica slot: their replacements start
	// now, and they go once those are Ready.
	var active, staying, leaving []*corev1.Pod
	readyStaying := 0
	for _, p := range pods {
		if !apis.PodActive(p) {
			continue
		}
		active = append(active, p)
		if _, ok := p.GetMetadata().GetAnnotations()[apis.EvictingAnnotation]; ok {
			leaving = append(leaving, p)
			continue
		}
		staying = append(staying, p)
		if ready, _ := apis.PodReady(p); ready {
			readyStaying++
		}
	}
	want := int(rs.GetSpec().GetReplicas())
	var manageErr error
	switch diff := len(staying) - want; {
	case diff < 0:
		manageErr = r.createPods(ctx, rs, min(-diff, maxBurst))
	case diff > 0:
		manageErr = r.deletePods(ctx, rs, staying, min(diff, maxBurst))
	}
	if manageErr == nil && len(leaving) > 0 && readyStaying >= want {
		// The replacements are Ready: finish the evictions.
		manageErr = r.deleteLeaving(ctx, rs, leaving)
	}
	st, requeue := r.status(rs, active)
	if manageErr != nil {
		st.Conditions = []*corev1.Condition{{Type: "ReplicaFailure", Status: "True", Reason: "FailedCreate", Message: manageErr.Error()}}
	}
	if !proto.Equal(st, rs.GetStatus()) {
		next := proto.Clone(rs).(*corev1.ReplicaSet)
		next.Status = st
		if _, err := r.ReplicaSets.UpdateStatus(ctx, next); err != nil && !client.IsNotFound(err) {
			return controller.Result{}, err
		}
	}
	return controller.Result{RequeueAfter: requeue}, manageErr
}

// ownedPods lists the pods whose controller is rs.
func (r *Reconciler) ownedPods(ctx context.Context, rs *corev1.ReplicaSet) ([]*corev1.Pod, error) {
	sel, err := labels.FromProto(rs.GetSpec().GetSelector())
	if err != nil {
		return nil, fmt.Errorf("replicaset %s: selector: %w", apis.Key(rs), err)
	}
	pods, _, err := r.Pods.ListAll(ctx, client.ListOptions{Namespace: rs.GetMetadata().GetNamespace(), LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	uid := rs.GetMetadata().GetUid()
	return slices.DeleteFunc(pods, func(p *corev1.Pod) bool {
		return apis.ControllerRef(p.GetMetadata()).GetUid() != uid
	}), nil
}

func (r *Reconciler) createPods(ctx context.Context, rs *corev1.ReplicaSet, n int) error {
	for range n {
		pod := newPod(rs)
		for tries := 0; ; tries++ {
			_, err := r.Pods.Create(ctx, pod)
			if client.IsAlreadyExists(err) && tries < 3 {
				pod.Metadata.Name = podName(rs.GetMetadata().GetName())
				continue
			}
			if err != nil {
				r.Recorder.Eventf(ctx, rs, apis.EventWarning, "FailedCreate", "Error creating pod: %v", err)
				return fmt.Errorf("create pod for replicaset %s: %w", apis.Key(rs), err)
			}
			break
		}
		r.Recorder.Eventf(ctx, rs, apis.EventNormal, "SuccessfulCreate", "Created pod: %s", pod.GetMetadata().GetName())
	}
	return nil
}

// newPod is a pod of rs's template, owned by rs.
func newPod(rs *corev1.ReplicaSet) *corev1.Pod {
	t := rs.GetSpec().GetTemplate()
	return &corev1.Pod{
		Metadata: &corev1.ObjectMeta{
			Name:            podName(rs.GetMetadata().GetName()),
			Namespace:       rs.GetMetadata().GetNamespace(),
			Labels:          maps.Clone(t.GetMetadata().GetLabels()),
			Annotations:     maps.Clone(t.GetMetadata().GetAnnotations()),
			OwnerReferences: []*corev1.OwnerReference{apis.NewControllerRef(rs)},
		},
		Spec: proto.Clone(t.GetSpec()).(*corev1.PodSpec),
	}
}

// podNameAlphabet avoids vowels (no words) and look-alikes, as Kubernetes.
const podNameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func podName(base string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = podNameAlphabet[int(b[i])%len(podNameAlphabet)]
	}
	return base + "-" + string(b)
}

func (r *Reconciler) deletePods(ctx context.Context, rs *corev1.ReplicaSet, active []*corev1.Pod, n int) error {
	victims := slices.Clone(active)
	slices.SortStableFunc(victims, deletionOrder)
	for _, p := range victims[:n] {
		err := r.Pods.Delete(ctx, p.GetMetadata().GetNamespace(), p.GetMetadata().GetName())
		if err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete pod %s of replicaset %s: %w", apis.Key(p), apis.Key(rs), err)
		}
		r.Recorder.Eventf(ctx, rs, apis.EventNormal, "SuccessfulDelete", "Deleted pod: %s", p.GetMetadata().GetName())
	}
	return nil
}

func (r *Reconciler) deleteLeaving(ctx context.Context, rs *corev1.ReplicaSet, leaving []*corev1.Pod) error {
	for _, p := range leaving {
		err := r.Pods.Delete(ctx, p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), client.Precondition(p.GetMetadata().GetResourceVersion()))
		if client.IsNotFound(err) || client.IsConflict(err) {
			continue // gone, or changed: the change brings us back
		}
		if err != nil {
			return fmt.Errorf("delete evicted pod %s: %w", apis.Key(p), err)
		}
		r.Recorder.Eventf(ctx, p, apis.EventNormal, apis.ReasonEvicted, "Replacement is Ready; evicted (%s)", p.GetMetadata().GetAnnotations()[apis.EvictingAnnotation])
	}
	return nil
}

// deletionOrder sorts the pods to delete first to the front: unscheduled
// before scheduled, pending before running, not ready before ready, ready
// for less time before longer, more restarts before fewer, newer before
// older (Kubernetes' ActivePods order).
func deletionOrder(a, b *corev1.Pod) int {
	if c := boolFirst(a.GetSpec().GetNodeName() == "", b.GetSpec().GetNodeName() == ""); c != 0 {
		return c
	}
	rank := map[string]int{apis.PodPending: 0, apis.PodUnknown: 1, apis.PodRunning: 2}
	if c := rank[a.GetStatus().GetPhase()] - rank[b.GetStatus().GetPhase()]; c != 0 {
		return c
	}
	ra, ca := apis.PodReady(a)
	rb, cb := apis.PodReady(b)
	if c := boolFirst(!ra, !rb); c != 0 {
		return c
	}
	if ra && rb {
		if c := ca.GetLastTransitionTime().AsTime().Compare(cb.GetLastTransitionTime().AsTime()); c != 0 {
			return -c // ready more recently first
		}
	}
	if c := restarts(b) - restarts(a); c != 0 {
		return c
	}
	return -a.GetMetadata().GetCreationTimestamp().AsTime().Compare(b.GetMetadata().GetCreationTimestamp().AsTime())
}

func boolFirst(a, b bool) int {
	switch {
	case a && !b:
		return -1
	case b && !a:
		return 1
	}
	return 0
}

func restarts(p *corev1.Pod) int {
	n := 0
	for _, c := range p.GetStatus().GetContainerStatuses() {
		n += int(c.GetRestartCount())
	}
	return n
}

// status counts active pods; requeue is when a Ready pod next becomes
// available (minReadySeconds).
func (r *Reconciler) status(rs *corev1.ReplicaSet, active []*corev1.Pod) (*corev1.ReplicaSetStatus, time.Duration) {
	now := r.Now()
	minReady := time.Duration(rs.GetSpec().GetMinReadySeconds()) * time.Second
	st := &corev1.ReplicaSetStatus{Replicas: int32(len(active)), ObservedGeneration: rs.GetMetadata().GetGeneration()}
	tmplLabels := rs.GetSpec().GetTemplate().GetMetadata().GetLabels()
	var requeue time.Duration
	for _, p := range active {
		if labelsContain(p.GetMetadata().GetLabels(), tmplLabels) {
			st.FullyLabeledReplicas++
		}
		ready, c := apis.PodReady(p)
		if !ready {
			continue
		}
		st.ReadyReplicas++
		readyFor := now.Sub(c.GetLastTransitionTime().AsTime())
		if minReady == 0 || readyFor >= minReady {
			st.AvailableReplicas++
		} else if wait := minReady - readyFor; requeue == 0 || wait < requeue {
			requeue = wait
		}
	}
	return st, requeue
}

func labelsContain(set, sub map[string]string) bool {
	for k, v := range sub {
		if set[k] != v {
			return false
		}
	}
	return true
}
