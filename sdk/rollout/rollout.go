package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/openpacific/pacific/sdk/apis"
	"github.com/openpacific/pacific/sdk/client"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/labels"
)

// ErrProgressDeadline is returned by Status when the rollout exceeded its
// progress deadline.
var ErrProgressDeadline = errors.New("exceeded its progress deadline")

// Status describes where d's rollout is, in kubectl's words, and whether it
// is complete. It fails with ErrProgressDeadline when the controller gave
// up waiting for progress.
func Status(d *corev1.Deployment) (msg string, done bool, err error) {
	name := d.GetMetadata().GetName()
	st := d.GetStatus()
	want := d.GetSpec().GetReplicas()
	if d.GetMetadata().GetGeneration() > st.GetObservedGeneration() {
		return fmt.Sprintf("Waiting for deployment spec update to be observed...\n"), false, nil
	}
	if c := apis.FindCondition(st.GetConditions(), apis.DeploymentProgressing); c.GetReason() == apis.ReasonProgressDeadlineExceeded {
		return "", false, fmt.Errorf("deployment %q %w", name, ErrProgressDeadline)
	}
	switch {
	case d.GetSpec().GetPaused():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: the deployment is paused (pacctl rollout resume deployment/%s)\n", name, name), false, nil
	case st.GetUpdatedReplicas() < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", name, st.GetUpdatedReplicas(), want), false, nil
	case st.GetReplicas() > st.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", name, st.GetReplicas()-st.GetUpdatedReplicas()), false, nil
	case st.GetAvailableReplicas() < st.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", name, st.GetAvailableReplicas(), st.GetUpdatedReplicas()), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", name), true, nil
}

// Revision is one entry of a Deployment's history.
type Revision struct {
	Number      int64
	ChangeCause string
	ReplicaSet  *corev1.ReplicaSet
}

// History returns d's revisions, oldest first.
func History(ctx context.Context, c *client.Client, d *corev1.Deployment) ([]Revision, error) {
	sel, err := labels.FromProto(d.GetSpec().GetSelector())
	if err != nil {
		return nil, fmt.Errorf("deployment %s: selector: %w", apis.Key(d), err)
	}
	rss, _, err := client.For[*corev1.ReplicaSet](c).ListAll(ctx, client.ListOptions{Namespace: d.GetMetadata().GetNamespace(), LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []Revision
	for _, rs := range rss {
		if apis.ControllerRef(rs.GetMetadata()).GetUid() != d.GetMetadata().GetUid() {
			continue
		}
		n, _ := strconv.ParseInt(rs.GetMetadata().GetAnnotations()[apis.RevisionAnnotation], 10, 64)
		out = append(out, Revision{Number: n, ChangeCause: rs.GetMetadata().GetAnnotations()[apis.ChangeCauseAnnotation], ReplicaSet: rs})
	}
	slices.SortFunc(out, func(a, b Revision) int { return int(a.Number - b.Number) })
	return out, nil
}

// Undo rolls d back to revision toRevision (0: the one before the current)
// by copying that revision's pod template into the Deployment, and returns
// the revision it rolled back to.
func Undo(ctx context.Context, c *client.Client, namespace, name string, toRevision int64) (int64, error) {
	deployments := client.For[*corev1.Deployment](c)
	for range 5 {
		d, err := deployments.Get(ctx, namespace, name)
		if err != nil {
			return 0, err
		}
		if d.GetSpec().GetPaused() {
			return 0, fmt.Errorf("deployment %q is paused; resume it first (pacctl rollout resume deployment/%s)", name, name)
		}
		hist, err := History(ctx, c, d)
		if err != nil {
			return 0, err
		}
		target, err := pick(hist, d, toRevision)
		if err != nil {
			return 0, err
		}
		next := proto.Clone(d).(*corev1.Deployment)
		tmpl := proto.Clone(target.ReplicaSet.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
		if tmpl.GetMetadata() != nil {
			tmpl.Metadata.Labels = maps.Clone(tmpl.Metadata.Labels)
			delete(tmpl.Metadata.Labels, apis.PodTemplateHashLabel)
		}
		next.Spec.Template = tmpl
		if cause := target.ChangeCause; cause != "" {
			if next.Metadata.Annotations == nil {
				next.Metadata.Annotations = map[string]string{}
			}
			next.Metadata.Annotations[apis.ChangeCauseAnnotation] = cause
		}
		_, err = deployments.Update(ctx, next)
		if client.IsConflict(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return target.Number, nil
	}
	return 0, fmt.Errorf("deployment %q kept changing; try again", name)
}

func pick(hist []Revision, d *corev1.Deployment, to int64) (Revision, error) {
	current, _ := strconv.ParseInt(d.GetMetadata().GetAnnotations()[apis.RevisionAnnotation], 10, 64)
	if to == 0 {
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Number < current {
				return hist[i], nil
			}
		}
		return Revision{}, fmt.Errorf("deployment %q has no revision before %d to roll back to", d.GetMetadata().GetName(), current)
	}
	for _, r := range hist {
		if r.Number == to {
			return r, nil
		}
	}
	nums := make([]string, len(hist))
	for i, r := range hist {
		nums[i] = strconv.FormatInt(r.Number, 10)
	}
	return Revision{}, fmt.Errorf("--to-revision %d: deployment %q has no such revision (it has %v)", to, d.GetMetadata().GetName(), nums)
}
