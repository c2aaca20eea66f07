package deployment

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

func TestRollingPlanSteps(t *testing.T) {
	cases := []struct {
		name    string
		in      rolloutInput
		wantNew int32
		wantOld map[string]int32
	}{
		{
			name:    "first step surges one new pod and keeps the old ones (maxUnavailable 0)",
			in:      rolloutInput{replicas: 3, surge: 1, unavailable: 0, newRS: rsState{name: "new", revision: 2}, old: []rsState{{name: "old", replicas: 3, available: 3, revision: 1}}},
			wantNew: 1, wantOld: map[string]int32{"old": 3},
		},
		{
			name:    "new pod available: one old pod goes",
			in:      rolloutInput{replicas: 3, surge: 1, unavailable: 0, newRS: rsState{name: "new", replicas: 1, available: 1, revision: 2}, old: []rsState{{name: "old", replicas: 3, available: 3, revision: 1}}},
			wantNew: 1, wantOld: map[string]int32{"old": 2},
		},
		{
			name:    "new pod not available yet: nothing more happens",
			in:      rolloutInput{replicas: 3, surge: 1, unavailable: 0, newRS: rsState{name: "new", replicas: 1, available: 0, revision: 2}, old: []rsState{{name: "old", replicas: 3, available: 3, revision: 1}}},
			wantNew: 1, wantOld: map[string]int32{"old": 3},
		},
		{
			name:    "maxUnavailable 1 and no surge: old shrinks first",
			in:      rolloutInput{replicas: 3, surge: 0, unavailable: 1, newRS: rsState{name: "new", revision: 2}, old: []rsState{{name: "old", replicas: 3, available: 3, revision: 1}}},
			wantNew: 0, wantOld: map[string]int32{"old": 2},
		},
		{
			name:    "unavailable old pods are removed before available ones, oldest set first",
			in:      rolloutInput{replicas: 4, surge: 1, unavailable: 1, newRS: rsState{name: "new", replicas: 1, available: 1, revision: 3}, old: []rsState{{name: "b", replicas: 2, available: 2, revision: 2}, {name: "a", replicas: 2, available: 1, revision: 1}}},
			wantNew: 1, wantOld: map[string]int32{"a": 0, "b": 2},
		},
		{
			name:    "scaled down mid-rollout: the new set shrinks to replicas",
			in:      rolloutInput{replicas: 2, surge: 1, unavailable: 0, newRS: rsState{name: "new", replicas: 3, available: 3, revision: 2}, old: []rsState{{name: "old", replicas: 1, available: 1, revision: 1}}},
			wantNew: 2, wantOld: map[string]int32{"old": 0},
		},
		{
			name:    "steady scale-up with no old sets goes straight to replicas",
			in:      rolloutInput{replicas: 10, surge: 1, unavailable: 0, newRS: rsState{name: "new", replicas: 3, available: 3, revision: 1}},
			wantNew: 10, wantOld: map[string]int32{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotNew, gotOld := rollingPlan(tc.in)
			if gotNew != tc.wantNew || fmt.Sprint(gotOld) != fmt.Sprint(tc.wantOld) {
				t.Fatalf("plan = new %d, old %v; want new %d, old %v", gotNew, gotOld, tc.wantNew, tc.wantOld)
			}
		})
	}
}

// TestRollingPlanInvariants runs whole rollouts step by step, pods turning
// available a step after they are asked for (or never, for a broken new
// template), and checks Kubernetes' guarantees at every step: never more
// than replicas+surge pods, never fewer than replicas-unavailable
// available, and a healthy rollout finishes with only new pods.
func TestRollingPlanInvariants(t *testing.T) {
	for _, replicas := range []int32{1, 2, 3, 5, 10} {
		for _, surge := range []int32{0, 1, 3} {
			for _, unavailable := range []int32{0, 1, 2} {
				if surge == 0 && unavailable == 0 {
					continue
				}
				unavailable := min(unavailable, replicas)
				for _, broken := range []bool{false, true} {
					name := fmt.Sprintf("replicas=%d surge=%d unavailable=%d broken=%v", replicas, surge, unavailable, broken)
					simulate(t, name, replicas, surge, unavailable, broken)
				}
			}
		}
	}
}

func simulate(t *testing.T, name string, replicas, surge, unavailable int32, broken bool) {
	newRS := rsState{name: "new", revision: 2}
	old := []rsState{{name: "old", replicas: replicas, available: replicas, revision: 1}}
	for step := 0; step < 100; step++ {
		in := rolloutInput{replicas: replicas, surge: surge, unavailable: unavailable, newRS: newRS, old: old}
		n, o := rollingPlan(in)
		newRS.replicas = n
		all := n
		for i := range old {
			old[i].replicas = o[old[i].name]
			old[i].available = min(old[i].available, old[i].replicas) // deleted pods stop being available at once
			all += old[i].replicas
		}
		if all > replicas+surge {
			t.Fatalf("%s step %d: %d pods exceed replicas+surge %d", name, step, all, replicas+surge)
		}
		avail := newRS.available + old[0].available
		if avail < replicas-unavailable {
			t.Fatalf("%s step %d: %d available, below replicas-unavailable %d", name, step, avail, replicas-unavailable)
		}
		if !broken {
			newRS.available = newRS.replicas // new pods become available a step later
		}
		if newRS.replicas == replicas && newRS.available == replicas && old[0].replicas == 0 {
			if broken {
				t.Fatalf("%s: a rollout whose pods never become available finished", name)
			}
			return
		}
	}
	if !broken {
		t.Fatalf("%s: the rollout did not finish in 100 steps: new %+v old %+v", name, newRS, old)
	}
}

func TestTemplateHashIsStableAndIgnoresItsOwnLabel(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Metadata: &corev1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1"}}}}
	if TemplateHash(tmpl) != TemplateHash(proto.Clone(tmpl).(*corev1.PodTemplateSpec)) {
		t.Fatal("hash differs for equal templates")
	}
	other := proto.Clone(tmpl).(*corev1.PodTemplateSpec)
	other.Spec.Containers[0].Image = "busybox:2"
	if TemplateHash(tmpl) == TemplateHash(other) {
		t.Fatal("hash equal for different images")
	}
	rsTemplate := proto.Clone(tmpl).(*corev1.PodTemplateSpec)
	rsTemplate.Metadata.Labels["pod-template-hash"] = TemplateHash(tmpl)
	if !sameTemplate(rsTemplate, tmpl) || sameTemplate(rsTemplate, other) {
		t.Fatal("sameTemplate must ignore pod-template-hash and nothing else")
	}
}
