package deployment

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openpacific/pacific/internal/controller"
	"github.com/openpacific/pacific/internal/record"
	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
)

var (
	deploymentGVK = apis.GVK{APIVersion: apis.CoreV1, Kind: "Deployment"}
	replicaSetGVK = apis.GVK{APIVersion: apis.CoreV1, Kind: "ReplicaSet"}
)

// Reconciler drives Deployments.
type Reconciler struct {
	Deployments *client.Typed[*corev1.Deployment]
	ReplicaSets *client.Typed[*corev1.ReplicaSet]
	Recorder    *record.Recorder
	Logger      *slog.Logger
	Now         func() time.Time
}

// NewController wires the reconciler to watches of Deployments and of the
// ReplicaSets they own.
func NewController(c *client.Client, rec *record.Recorder, logger *slog.Logger) *controller.Controller {
	r := &Reconciler{
		Deployments: client.For[*corev1.Deployment](c),
		ReplicaSets: client.For[*corev1.ReplicaSet](c),
		Recorder:    rec,
		Logger:      logger,
		Now:         time.Now,
	}
	rc := c.Resources()
	return &controller.Controller{
		Name:       "deployment",
		Reconciler: r,
		Sources: []controller.Source{
			controller.KindSource{Client: rc, GVK: deploymentGVK, Logger: logger}.Source(),
			controller.KindSource{Client: rc, GVK: replicaSetGVK, Logger: logger, Map: controller.OwnerKeys(deploymentGVK)}.Source(),
		},
		Workers: 4,
		Logger:  logger,
	}
}

// Reconcile implements controller.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	d, err := r.Deployments.Get(ctx, req.Namespace, req.Name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if d.GetMetadata().GetDeletionTimestamp() != nil {
		return controller.Result{}, nil // the garbage collector deletes its ReplicaSets
	}
	surge, unavailable, err := apis.RollingBounds(d)
	if err != nil {
		return controller.Result{}, fmt.Errorf("deployment %s: %w", apis.Key(d), err)
	}
	all, err := r.ownedReplicaSets(ctx, d)
	if err != nil {
		return controller.Result{}, err
	}
	newRS, old := splitNew(d, all)
	createdNew := false
	if newRS == nil && !d.GetSpec().GetPaused() {
		if newRS, err = r.createNewReplicaSet(ctx, d, all, surge); err != nil {
			return controller.Result{}, err
		}
		createdNew = true
		all = append(all, newRS)
	}
	if newRS != nil {
		if newRS, err = r.ensureNewestRevision(ctx, d, newRS, old); err != nil {
			return controller.Result{}, err
		}
	}
	if !d.GetSpec().GetPaused() {
		if err := r.scale(ctx, d, newRS, old, surge, unavailable); err != nil {
			return controller.Result{}, err
		}
		if apis.DeploymentComplete(d) {
			if err := r.cleanup(ctx, d, old); err != nil {
				return controller.Result{}, err
			}
		}
	} else if newRS == nil {
		// Paused with a template that has no ReplicaSet yet: keep the
		// current pods at the wanted count through the newest old one.
		if len(old) > 0 {
			newest := slices.MaxFunc(old, func(a, b *corev1.ReplicaSet) int { return int(revision(a) - revision(b)) })
			if err := r.setReplicas(ctx, d, newest, d.GetSpec().GetReplicas()); err != nil {
				return controller.Result{}, err
			}
		}
	} else if err := r.setReplicas(ctx, d, newRS, d.GetSpec().GetReplicas()); err != nil {
		return controller.Result{}, err
	}
	return r.syncStatus(ctx, d, newRS, old, createdNew, unavailable)
}

// ownedReplicaSets lists the ReplicaSets whose controller is d.
func (r *Reconciler) ownedReplicaSets(ctx context.Context, d *corev1.Deployment) ([]*corev1.ReplicaSet, error) {
	sel, err := labels.FromProto(d.GetSpec().GetSelector())
	if err != nil {
		return nil, fmt.Errorf("deployment %s: selector: %w", apis.Key(d), err)
	}
	list, _, err := r.ReplicaSets.ListAll(ctx, client.ListOptions{Namespace: d.GetMetadata().GetNamespace(), LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	uid := d.GetMetadata().GetUid()
	return slices.DeleteFunc(list, func(rs *corev1.ReplicaSet) bool {
		return apis.ControllerRef(rs.GetMetadata()).GetUid() != uid || rs.GetMetadata().GetDeletionTimestamp() != nil
	}), nil
}

// splitNew finds the ReplicaSet running d's current template.
func splitNew(d *corev1.Deployment, all []*corev1.ReplicaSet) (*corev1.ReplicaSet, []*corev1.ReplicaSet) {
	var newRS *corev1.ReplicaSet
	var old []*corev1.ReplicaSet
	for _, rs := range all {
		if newRS == nil && sameTemplate(rs.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			newRS = rs
			continue
		}
		old = append(old, rs)
	}
	return newRS, old
}

// sameTemplate compares a ReplicaSet's template with a Deployment's,
// ignoring the pod-template-hash label the controller adds.
func sameTemplate(rsTemplate, dTemplate *corev1.PodTemplateSpec) bool {
	t := proto.Clone(rsTemplate).(*corev1.PodTemplateSpec)
	if t.GetMetadata() != nil {
		delete(t.Metadata.Labels, apis.PodTemplateHashLabel)
		if len(t.Metadata.Labels) == 0 {
			t.Metadata.Labels = nil
		}
	}
	want := proto.Clone(dTemplate).(*corev1.PodTemplateSpec)
	if want.GetMetadata() != nil && len(want.Metadata.Labels) == 0 {
		want.Metadata.Labels = nil
	}
	return proto.Equal(t, want)
}

// TemplateHash names a template's ReplicaSet: short, DNS-label safe, and
// the same for the same template.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(t)
	h := fnv.New32a()
	h.Write(b)
	return encode(binary.BigEndian.Uint32(h.Sum(nil)))
}

// hashAlphabet avoids vowels and look-alikes, as Kubernetes does.
const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func encode(v uint32) string {
	var out []byte
	for {
		out = append(out, hashAlphabet[v%uint32(len(hashAlphabet))])
		v /= uint32(len(hashAlphabet))
		if v == 0 {
			return string(out)
		}
	}
}

func revision(rs *corev1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.GetMetadata().GetAnnotations()[apis.RevisionAnnotation], 10, 64)
	return n
}

func maxRevision(rss []*corev1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, revision(rs))
	}
	return m
}

func (r *Reconciler) createNewReplicaSet(ctx context.Context, d *corev1.Deployment, all []*corev1.ReplicaSet, surge int32) (*corev1.ReplicaSet, error) {
	tmpl := proto.Clone(d.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	hash := TemplateHash(tmpl)
	if tmpl.Metadata == nil {
		tmpl.Metadata = &corev1.ObjectMeta{}
	}
	tmpl.Metadata.Labels = maps.Clone(tmpl.Metadata.Labels)
	if tmpl.Metadata.Labels == nil {
		tmpl.Metadata.Labels = map[string]string{}
	}
	tmpl.Metadata.Labels[apis.PodTemplateHashLabel] = hash
	sel := proto.Clone(d.GetSpec().GetSelector()).(*corev1.LabelSelector)
	sel.MatchLabels = maps.Clone(sel.MatchLabels)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[apis.PodTemplateHashLabel] = hash
	rsLabels := maps.Clone(d.GetSpec().GetTemplate().GetMetadata().GetLabels())
	if rsLabels == nil {
		rsLabels = map[string]string{}
	}
	rsLabels[apis.PodTemplateHashLabel] = hash
	annotations := map[string]string{apis.RevisionAnnotation: strconv.FormatInt(maxRevision(all)+1, 10)}
	if cause := d.GetMetadata().GetAnnotations()[apis.ChangeCauseAnnotation]; cause != "" {
		annotations[apis.ChangeCauseAnnotation] = cause
	}
	// The first ReplicaSet starts at full size; later ones grow by the
	// rolling update (Recreate waits for the old pods to go first).
	var initial int32
	if len(all) == 0 || d.GetSpec().GetStrategy().GetType() != apis.RecreateStrategy {
		in := rolloutInput{replicas: d.GetSpec().GetReplicas(), surge: surge}
		for _, rs := range all {
			in.old = append(in.old, rsState{replicas: rs.GetSpec().GetReplicas()})
		}
		initial = scaleUpNew(in)
	}
	rs := &corev1.ReplicaSet{
		Metadata: &corev1.ObjectMeta{
			Name:            d.GetMetadata().GetName() + "-" + hash,
			Namespace:       d.GetMetadata().GetNamespace(),
			Labels:          rsLabels,
			Annotations:     annotations,
			OwnerReferences: []*corev1.OwnerReference{apis.NewControllerRef(d)},
		},
		Spec: &corev1.ReplicaSetSpec{
			Replicas:        proto.Int32(initial),
			Selector:        sel,
			Template:        tmpl,
			MinReadySeconds: d.GetSpec().GetMinReadySeconds(),
		},
	}
	created, err := r.ReplicaSets.Create(ctx, rs)
	if client.IsAlreadyExists(err) {
		// Ours but filtered out (e.g. being deleted), or a hash collision
		// with another template: retry later rather than guess.
		return nil, fmt.Errorf("deployment %s: replicaset %s exists but does not run the current template; retrying", apis.Key(d), rs.GetMetadata().GetName())
	}
	if err != nil {
		return nil, err
	}
	r.Recorder.Eventf(ctx, d, apis.EventNormal, "ScalingReplicaSet", "Scaled up replica set %s to %d", created.GetMetadata().GetName(), initial)
	return created, nil
}

// ensureNewestRevision renumbers the new ReplicaSet when it is an old one
// brought back (rollback), so revisions keep telling the order of rollouts.
func (r *Reconciler) ensureNewestRevision(ctx context.Context, d *corev1.Deployment, newRS *corev1.ReplicaSet, old []*corev1.ReplicaSet) (*corev1.ReplicaSet, error) {
	want := max(revision(newRS), maxRevision(old)+1)
	if revision(newRS) == want && newRS.GetSpec().GetMinReadySeconds() == d.GetSpec().GetMinReadySeconds() {
		return newRS, r.setDeploymentRevision(ctx, d, want)
	}
	next := proto.Clone(newRS).(*corev1.ReplicaSet)
	if next.Metadata.Annotations == nil {
		next.Metadata.Annotations = map[string]string{}
	}
	next.Metadata.Annotations[apis.RevisionAnnotation] = strconv.FormatInt(want, 10)
	if cause := d.GetMetadata().GetAnnotations()[apis.ChangeCauseAnnotation]; cause != "" {
		next.Metadata.Annotations[apis.ChangeCauseAnnotation] = cause
	}
	next.Spec.MinReadySeconds = d.GetSpec().GetMinReadySeconds()
	stored, err := r.ReplicaSets.Update(ctx, next)
	if err != nil {
		return nil, err
	}
	return stored, r.setDeploymentRevision(ctx, d, want)
}

// setDeploymentRevision shows the current revision on the Deployment.
func (r *Reconciler) setDeploymentRevision(ctx context.Context, d *corev1.Deployment, rev int64) error {
	s := strconv.FormatInt(rev, 10)
	if d.GetMetadata().GetAnnotations()[apis.RevisionAnnotation] == s {
		return nil
	}
	next := proto.Clone(d).(*corev1.Deployment)
	if next.Metadata.Annotations == nil {
		next.Metadata.Annotations = map[string]string{}
	}
	next.Metadata.Annotations[apis.RevisionAnnotation] = s
	stored, err := r.Deployments.Update(ctx, next)
	if err != nil {
		return err
	}
	// Keep working on the stored object (its resource_version moved).
	proto.Reset(d)
	proto.Merge(d, stored)
	return nil
}

// scale applies the strategy: rolling (rollingPlan) or Recreate.
func (r *Reconciler) scale(ctx context.Context, d *corev1.Deployment, newRS *corev1.ReplicaSet, old []*corev1.ReplicaSet, surge, unavailable int32) error {
	if d.GetSpec().GetStrategy().GetType() == apis.RecreateStrategy {
		oldRunning := false
		for _, rs := range old {
			if rs.GetSpec().GetReplicas() != 0 || rs.GetStatus().GetReplicas() != 0 {
				oldRunning = true
			}
			if err := r.setReplicas(ctx, d, rs, 0); err != nil {
				return err
			}
		}
		if oldRunning {
			return nil // the new pods start once every old one is gone
		}
		return r.setReplicas(ctx, d, newRS, d.GetSpec().GetReplicas())
	}
	in := rolloutInput{replicas: d.GetSpec().GetReplicas(), surge: surge, unavailable: unavailable, newRS: stateOf(newRS)}
	for _, rs := range old {
		in.old = append(in.old, stateOf(rs))
	}
	newReplicas, oldReplicas := rollingPlan(in)
	// Scale down first: it frees room for the surge.
	for _, rs := range old {
		if err := r.setReplicas(ctx, d, rs, oldReplicas[rs.GetMetadata().GetName()]); err != nil {
			return err
		}
	}
	return r.setReplicas(ctx, d, newRS, newReplicas)
}

func stateOf(rs *corev1.ReplicaSet) rsState {
	return rsState{name: rs.GetMetadata().GetName(), replicas: rs.GetSpec().GetReplicas(), available: rs.GetStatus().GetAvailableReplicas(), revision: revision(rs)}
}

func (r *Reconciler) setReplicas(ctx context.Context, d *corev1.Deployment, rs *corev1.ReplicaSet, n int32) error {
	from := rs.GetSpec().GetReplicas()
	if from == n {
		return nil
	}
	next := proto.Clone(rs).(*corev1.ReplicaSet)
	next.Spec.Replicas = proto.Int32(n)
	stored, err := r.ReplicaSets.Update(ctx, next)
	if err != nil {
		return fmt.Errorf("scale replicaset %s to %d: %w", apis.Key(rs), n, err)
	}
	proto.Reset(rs)
	proto.Merge(rs, stored)
	verb := "up"
	if n < from {
		verb = "down"
	}
	r.Recorder.Eventf(ctx, d, apis.EventNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", verb, rs.GetMetadata().GetName(), from, n)
	return nil
}

// cleanup deletes the oldest empty old ReplicaSets beyond
// revisionHistoryLimit.
func (r *Reconciler) cleanup(ctx context.Context, d *corev1.Deployment, old []*corev1.ReplicaSet) error {
	limit := int(d.GetSpec().GetRevisionHistoryLimit())
	var empty []*corev1.ReplicaSet
	for _, rs := range old {
		if rs.GetSpec().GetReplicas() == 0 && rs.GetStatus().GetReplicas() == 0 {
			empty = append(empty, rs)
		}
	}
	if len(empty) <= limit {
		return nil
	}
	slices.SortFunc(empty, func(a, b *corev1.ReplicaSet) int { return int(revision(a) - revision(b)) })
	for _, rs := range empty[:len(empty)-limit] {
		err := r.ReplicaSets.Delete(ctx, rs.GetMetadata().GetNamespace(), rs.GetMetadata().GetName())
		if err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// syncStatus writes the counts and conditions, and asks to be called again
// when the progress deadline would pass.
func (r *Reconciler) syncStatus(ctx context.Context, d *corev1.Deployment, newRS *corev1.ReplicaSet, old []*corev1.ReplicaSet, createdNew bool, unavailable int32) (controller.Result, error) {
	now := r.Now()
	want := d.GetSpec().GetReplicas()
	st := &corev1.DeploymentStatus{ObservedGeneration: d.GetMetadata().GetGeneration()}
	for _, rs := range append(slices.Clone(old), newRS) {
		if rs == nil {
			continue
		}
		st.Replicas += rs.GetStatus().GetReplicas()
		st.ReadyReplicas += rs.GetStatus().GetReadyReplicas()
		st.AvailableReplicas += rs.GetStatus().GetAvailableReplicas()
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.GetStatus().GetReplicas()
	}
	st.UnavailableReplicas = max(want-st.AvailableReplicas, 0)
	prev := d.GetStatus()
	conds := cloneConditions(prev.GetConditions())

	avail := &corev1.Condition{Type: apis.DeploymentAvailable, Status: "True", Reason: apis.ReasonMinimumReplicasAvailable, Message: "Deployment has minimum availability."}
	if st.AvailableReplicas < want-unavailable {
		avail.Status, avail.Reason, avail.Message = "False", apis.ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability."
	}
	conds = setCondition(conds, avail, now)

	var requeue time.Duration
	check := proto.Clone(d).(*corev1.Deployment)
	check.Status = st
	progressing := apis.FindCondition(conds, apis.DeploymentProgressing)
	deadline := time.Duration(d.GetSpec().GetProgressDeadlineSeconds()) * time.Second
	newName := ""
	if newRS != nil {
		newName = newRS.GetMetadata().GetName()
	}
	switch {
	case d.GetSpec().GetPaused():
		conds = setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "Unknown", Reason: apis.ReasonDeploymentPaused, Message: "Deployment is paused"}, now)
	case apis.DeploymentComplete(check):
		conds = setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "True", Reason: apis.ReasonNewReplicaSetAvailable,
			Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", newName)}, now)
	case createdNew:
		conds = setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "True", Reason: apis.ReasonNewReplicaSetCreated,
			Message: fmt.Sprintf("Created new replica set %q", newName)}, now)
		requeue = deadline
	case progressing.GetReason() == apis.ReasonDeploymentPaused:
		conds = setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "Unknown", Reason: apis.ReasonDeploymentResumed, Message: "Deployment is resumed"}, now)
		requeue = deadline
	case progressing == nil || progressed(prev, st) || progressing.GetReason() == apis.ReasonNewReplicaSetAvailable:
		conds = touchCondition(setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "True", Reason: apis.ReasonReplicaSetUpdated,
			Message: fmt.Sprintf("ReplicaSet %q is progressing.", newName)}, now), apis.DeploymentProgressing, now)
		requeue = deadline
	case progressing.GetReason() != apis.ReasonProgressDeadlineExceeded:
		last := progressing.GetLastUpdateTime().AsTime()
		if left := last.Add(deadline).Sub(now); left > 0 {
			requeue = left
			break
		}
		conds = setCondition(conds, &corev1.Condition{Type: apis.DeploymentProgressing, Status: "False", Reason: apis.ReasonProgressDeadlineExceeded,
			Message: fmt.Sprintf("ReplicaSet %q has timed out progressing.", newName)}, now)
		r.Recorder.Eventf(ctx, d, apis.EventWarning, apis.ReasonProgressDeadlineExceeded, "Deployment %q exceeded its progress deadline", d.GetMetadata().GetName())
	}
	st.Conditions = conds
	if !proto.Equal(st, prev) {
		next := proto.Clone(d).(*corev1.Deployment)
		next.Status = st
		if _, err := r.Deployments.UpdateStatus(ctx, next); err != nil && !client.IsNotFound(err) {
			return controller.Result{}, err
		}
	}
	if requeue > 0 {
		requeue += time.Second // past the deadline, not at it
	}
	return controller.Result{RequeueAfter: requeue}, nil
}

// progressed reports whether the counts moved since the last status.
func progressed(prev, st *corev1.DeploymentStatus) bool {
	return prev.GetUpdatedReplicas() != st.GetUpdatedReplicas() || prev.GetReadyReplicas() != st.GetReadyReplicas() ||
		prev.GetAvailableReplicas() != st.GetAvailableReplicas() || prev.GetReplicas() != st.GetReplicas() ||
		prev.GetObservedGeneration() != st.GetObservedGeneration()
}

// touchCondition records news in a condition whose status, reason and
// message stay the same (rollout progress restarts the deadline).
func touchCondition(conds []*corev1.Condition, typ string, now time.Time) []*corev1.Condition {
	if c := apis.FindCondition(conds, typ); c != nil {
		c.LastUpdateTime = timestamppb.New(now)
	}
	return conds
}

func cloneConditions(in []*corev1.Condition) []*corev1.Condition {
	out := make([]*corev1.Condition, len(in))
	for i, c := range in {
		out[i] = proto.Clone(c).(*corev1.Condition)
	}
	return out
}

// setCondition replaces the condition of c's type. The transition time
// moves only when the status changes; the update time whenever status,
// reason or message change.
func setCondition(conds []*corev1.Condition, c *corev1.Condition, now time.Time) []*corev1.Condition {
	ts := timestamppb.New(now)
	old := apis.FindCondition(conds, c.GetType())
	if old == nil {
		c.LastTransitionTime, c.LastUpdateTime = ts, ts
		return append(conds, c)
	}
	if old.GetStatus() == c.GetStatus() && old.GetReason() == c.GetReason() && old.GetMessage() == c.GetMessage() {
		return conds
	}
	c.LastTransitionTime, c.LastUpdateTime = old.GetLastTransitionTime(), ts
	if old.GetStatus() != c.GetStatus() {
		c.LastTransitionTime = ts
	}
	proto.Reset(old)
	proto.Merge(old, c)
	return conds
}
