package replicaset

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func pod(name, node, phase string, ready bool, readySince, created time.Time, restarts int32) *corev1.Pod {
	p := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, CreationTimestamp: timestamppb.New(created)},
		Spec:     &corev1.PodSpec{NodeName: node},
		Status:   &corev1.PodStatus{Phase: phase, ContainerStatuses: []*corev1.ContainerStatus{{RestartCount: restarts}}},
	}
	if ready {
		p.Status.Conditions = []*corev1.Condition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(readySince)}}
	}
	return p
}

func TestDeletionOrderPrefersTheLeastValuablePods(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pods := []*corev1.Pod{
		pod("old-ready", "h1", "Running", true, t0, t0, 0),
		pod("unscheduled", "", "Pending", false, t0, t0, 0),
		pod("recently-ready", "h1", "Running", true, t0.Add(time.Hour), t0, 0),
		pod("pending", "h1", "Pending", false, t0, t0, 0),
		pod("running-not-ready", "h1", "Running", false, t0, t0, 0),
		pod("crashy-not-ready", "h1", "Running", false, t0, t0, 5),
		pod("newer-not-ready", "h1", "Running", false, t0, t0.Add(time.Minute), 0),
	}
	slices.SortStableFunc(pods, deletionOrder)
	var got []string
	for _, p := range pods {
		got = append(got, p.GetMetadata().GetName())
	}
	want := []string{"unscheduled", "pending", "crashy-not-ready", "newer-not-ready", "running-not-ready", "recently-ready", "old-ready"}
	if !slices.Equal(got, want) {
		t.Fatalf("deletion order\n got %v\nwant %v", got, want)
	}
}

func TestStatusCountsAvailableAfterMinReadySeconds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	r := &Reconciler{Now: func() time.Time { return now }}
	rs := &corev1.ReplicaSet{
		Metadata: &corev1.ObjectMeta{Generation: 3},
		Spec: &corev1.ReplicaSetSpec{MinReadySeconds: 30, Template: &corev1.PodTemplateSpec{
			Metadata: &corev1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		}},
	}
	long := pod("long", "h1", "Running", true, now.Add(-time.Minute), now, 0)
	long.Metadata.Labels = map[string]string{"app": "web"}
	fresh := pod("fresh", "h1", "Running", true, now.Add(-10*time.Second), now, 0)
	st, requeue := r.status(rs, []*corev1.Pod{long, fresh, pod("no", "h1", "Pending", false, now, now, 0)})
	if st.GetReplicas() != 3 || st.GetReadyReplicas() != 2 || st.GetAvailableReplicas() != 1 || st.GetFullyLabeledReplicas() != 1 || st.GetObservedGeneration() != 3 {
		t.Fatalf("status = %v", st)
	}
	if requeue != 20*time.Second {
		t.Fatalf("requeue = %s, want 20s (when fresh becomes available)", requeue)
	}
}
