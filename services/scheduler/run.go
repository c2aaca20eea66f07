package scheduler

import (
	"context"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

const condPodScheduled = "PodScheduled"

func (r *run) hostChanged(h *corev1.Host) {
	r.mu.Lock()
	r.cache.setHost(h)
	r.mu.Unlock()
	r.queue.moveAll()
}

func (r *run) hostDeleted(h *corev1.Host) {
	r.mu.Lock()
	r.cache.removeHost(h.GetMetadata().GetName())
	r.mu.Unlock()
}

func (r *run) podChanged(p *corev1.Pod) {
	key := apis.Key(p)
	if p.GetSpec().GetNodeName() != "" {
		r.queue.forget(key)
		r.mu.Lock()
		delete(r.pending, key)
		delete(r.assumed, key)
		freed := false
		if isTerminal(p) {
			freed = r.cache.removePod(key)
		} else if known := r.cache.pods[key]; known != nil && sameBinding(known, p) {
			// Our own binding (or a status change) coming back: what the
			// cache counts is unchanged, so keep the parsed pod.
			known.pod = p
		} else if pi, err := newPodInfo(p); err == nil {
			r.cache.addPod(pi)
		} else {
			r.log.Warn("bound pod not understood; its requests are not counted", "pod", key, "err", err)
		}
		r.mu.Unlock()
		if freed {
			r.queue.moveAll()
		}
		return
	}
	if p.GetMetadata().GetDeletionTimestamp() != nil || isTerminal(p) {
		r.mu.Lock()
		delete(r.pending, key)
		r.mu.Unlock()
		r.queue.forget(key)
		return
	}
	r.mu.Lock()
	old := r.pending[key]
	if old != nil && old.GetMetadata().GetResourceVersion() > p.GetMetadata().GetResourceVersion() {
		r.mu.Unlock()
		return // we already hold a newer version (from our own write)
	}
	r.pending[key] = p
	changed := old == nil || old.GetMetadata().GetGeneration() != p.GetMetadata().GetGeneration() ||
		!maps.Equal(old.GetMetadata().GetLabels(), p.GetMetadata().GetLabels())
	busy := r.assumed[key]
	r.mu.Unlock()
	if changed && !busy {
		r.queue.add(key)
	}
}

func (r *run) podDeleted(p *corev1.Pod) {
	key := apis.Key(p)
	r.mu.Lock()
	delete(r.pending, key)
	freed := r.cache.removePod(key)
	delete(r.assumed, key)
	r.mu.Unlock()
	r.queue.forget(key)
	if freed {
		r.queue.moveAll()
	}
}

// scheduleOne decides for one pod and hands the binding or the
// explanation to the workers.
func (r *run) scheduleOne(ctx context.Context, key string) {
	r.mu.Lock()
	p := r.pending[key]
	if p == nil {
		r.mu.Unlock()
		r.queue.forget(key)
		return
	}
	pi, err := newPodInfo(p)
	if err != nil {
		r.mu.Unlock()
		r.queue.done(key, unschedulable)
		r.send(ctx, job{key: key, pod: p, explanation: "the scheduler cannot read this pod: " + err.Error()})
		return
	}
	d, next := r.cache.schedule(pi, r.s.cfg.Strategy, r.s.cfg.PercentageOfHostsToScore, r.next, r.rng)
	r.next = next
	if d.host != "" {
		pi.host = d.host
		r.cache.addPod(pi)
		r.assumed[key] = true
	}
	r.mu.Unlock()
	if d.host == "" {
		r.s.stats.unschedulable.Add(1)
		r.queue.done(key, unschedulable)
	}
	r.send(ctx, job{key: key, pod: p, host: d.host, explanation: d.explanation})
}

func (r *run) send(ctx context.Context, j job) {
	select {
	case r.jobs <- j:
	case <-ctx.Done():
	}
}

func (r *run) worker(ctx context.Context) {
	for j := range r.jobs {
		if ctx.Err() != nil {
			continue
		}
		if j.host != "" {
			r.bind(ctx, j)
		} else {
			r.markUnschedulable(ctx, j)
		}
	}
}

// bind sets spec.nodeName with the resource_version the decision was
// based on: if the pod changed meanwhile (or another scheduler bound it),
// the API server refuses and the pod is retried.
func (r *run) bind(ctx context.Context, j job) {
	next := proto.Clone(j.pod).(*corev1.Pod)
	next.Spec.NodeName = j.host
	if next.Metadata.Annotations == nil {
		next.Metadata.Annotations = map[string]string{}
	}
	next.Metadata.Annotations[PlacementAnnotation] = j.explanation
	next.Status = nil
	err := r.update(ctx, next)
	if err == nil {
		r.s.stats.bound.Add(1)
		r.queue.done(j.key, bound)
		r.events.Eventf(j.pod, apis.EventNormal, ReasonScheduled, "Successfully assigned %s to %s", j.key, j.host)
		return
	}
	if client.IsConflict(err) {
		r.s.stats.conflicts.Add(1)
	}
	r.mu.Lock()
	if r.assumed[j.key] {
		delete(r.assumed, j.key)
		r.cache.removePod(j.key)
	}
	r.mu.Unlock()
	switch {
	case client.IsNotFound(err):
		r.queue.forget(j.key)
	case ctx.Err() != nil:
	default:
		if !client.IsConflict(err) {
			r.log.Warn("bind failed; will retry", "pod", j.key, "host", j.host, "err", err)
		}
		r.queue.done(j.key, failed)
	}
}

// markUnschedulable records the attempt as a FailedScheduling Event and
// writes PodScheduled=False and the explanation, unless the pod says so
// already.
func (r *run) markUnschedulable(ctx context.Context, j job) {
	r.events.Eventf(j.pod, apis.EventWarning, ReasonFailedScheduling, "%s", j.explanation)
	st := j.pod.GetStatus()
	if c := findCondition(st.GetConditions(), condPodScheduled); c != nil && c.GetStatus() == "False" &&
		c.GetMessage() == j.explanation && st.GetSchedulingExplanation() == j.explanation {
		return
	}
	next := proto.Clone(j.pod).(*corev1.Pod)
	if next.Status == nil {
		next.Status = &corev1.PodStatus{Phase: "Pending"}
	}
	next.Status.SchedulingExplanation = j.explanation
	cond := &corev1.Condition{Type: condPodScheduled, Status: "False", Reason: "Unschedulable", Message: j.explanation, LastTransitionTime: timestamppb.New(time.Now())}
	replaced := false
	for i, old := range next.Status.Conditions {
		if old.GetType() == condPodScheduled {
			if old.GetStatus() == "False" {
				cond.LastTransitionTime = old.GetLastTransitionTime()
			}
			next.Status.Conditions[i], replaced = cond, true
		}
	}
	if !replaced {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	out, err := r.s.pods.UpdateStatus(ctx, next)
	if err != nil {
		if ctx.Err() == nil && !client.IsNotFound(err) && !client.IsConflict(err) {
			r.log.Warn("write unschedulable status", "pod", j.key, "err", err)
		}
		return
	}
	r.mu.Lock()
	if cur := r.pending[j.key]; cur != nil && cur.GetMetadata().GetResourceVersion() < out.GetMetadata().GetResourceVersion() {
		r.pending[j.key] = out
	}
	r.mu.Unlock()
}

// update sends an Update without decoding the object the server returns
// (the watch brings it): at thousands of bindings a second the decode is a
// noticeable share of the scheduler's CPU.
func (r *run) update(ctx context.Context, p *corev1.Pod) error {
	a, err := anypb.New(p)
	if err != nil {
		return err
	}
	_, err = r.s.cfg.Client.Resources().Update(ctx, &corev1.UpdateRequest{Object: a})
	return err
}

// sameBinding reports whether p changes nothing the cache counts about the
// cached (bound or assumed) pod: same uid, host, labels and generation.
func sameBinding(known *podInfo, p *corev1.Pod) bool {
	km, pm := known.pod.GetMetadata(), p.GetMetadata()
	return km.GetUid() == pm.GetUid() && km.GetGeneration() == pm.GetGeneration() &&
		known.host == p.GetSpec().GetNodeName() && maps.Equal(km.GetLabels(), pm.GetLabels())
}

func findCondition(conds []*corev1.Condition, typ string) *corev1.Condition {
	for _, c := range conds {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}
