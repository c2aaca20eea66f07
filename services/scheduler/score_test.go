package scheduler

import (
	"strings"
	"testing"
	"time"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// TestScores checks, for each score, which of two feasible hosts wins.
func TestScores(t *testing.T) {
	web := map[string]string{"app": "web"}
	busy := testPod("busy", "2", "4Gi", nil)
	cases := []struct {
		name     string
		a, b     *corev1.Host
		bound    map[*corev1.Pod]string
		pod      *corev1.Pod
		strategy string
		want     string
	}{
		{name: "spread prefers the emptier host", a: testHost("a", nil), b: testHost("b", nil),
			bound: map[*corev1.Pod]string{busy: "a"}, pod: testPod("p", "1", "1Gi", nil), strategy: StrategySpread, want: "b"},
		{name: "binpack prefers the fuller host", a: testHost("a", nil), b: testHost("b", nil),
			bound: map[*corev1.Pod]string{busy: "a"}, pod: testPod("p", "1", "1Gi", nil), strategy: StrategyBinpack, want: "a"},
		{name: "preferred node affinity", a: testHost("a", nil), b: testHost("b", map[string]string{"disk": "ssd"}),
			pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.PreferredSchedulingTerm{{
					Weight: 50, Preference: &corev1.NodeSelectorTerm{MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "disk", Operator: "In", Values: []string{"ssd"}}}},
				}}}}
			}), want: "b"},
		{name: "preferred pod affinity", a: testHost("a", nil), b: testHost("b", nil),
			bound: map[*corev1.Pod]string{testPod("cache", "0", "0", map[string]string{"app": "cache"}): "a"},
			pod: testPod("p", "0", "0", web, func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: &corev1.PodAffinityTerm{TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}},
				}}}}
			}), want: "a"},
		{name: "preferred pod anti-affinity", a: testHost("a", nil), b: testHost("b", nil),
			bound: map[*corev1.Pod]string{testPod("other", "0", "0", web): "b"},
			pod: testPod("p", "0", "0", web, func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: &corev1.PodAffinityTerm{TopologyKey: "pacific.dev/hostname", LabelSelector: &corev1.LabelSelector{MatchLabels: web}},
				}}}}
			}), want: "a"},
		{name: "ScheduleAnyway spread", a: testHost("a", map[string]string{zone: "z1"}), b: testHost("b", map[string]string{zone: "z2"}),
			bound: map[*corev1.Pod]string{testPod("w1", "0", "0", web): "a", testPod("w2", "0", "0", web): "a"},
			pod:   testPod("p", "0", "0", web, spread(zone, 1, "ScheduleAnyway", web)), want: "b"},
		{name: "PreferNoSchedule taint", a: testHost("a", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "old", Effect: "PreferNoSchedule"}}
		}), b: testHost("b", nil), pod: testPod("p", "0", "0", nil), want: "b"},
		{name: "tolerated PreferNoSchedule taint costs nothing", a: testHost("a", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "old", Effect: "PreferNoSchedule"}}
		}), b: testHost("b", nil), bound: map[*corev1.Pod]string{busy: "b"},
			pod: testPod("p", "0", "0", nil, func(s *corev1.PodSpec) { s.Tolerations = []*corev1.Toleration{{Key: "old", Operator: "Exists"}} }), want: "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(tc.a, tc.b)
			for p, host := range tc.bound {
				bindTo(t, c, p, host)
			}
			strategy := tc.strategy
			if strategy == "" {
				strategy = StrategySpread
			}
			st := c.prepare(mustInfo(t, tc.pod))
			sa, sb := st.score(c.hosts["a"], strategy), st.score(c.hosts["b"], strategy)
			got := "a"
			if sb > sa {
				got = "b"
			}
			if sa == sb || got != tc.want {
				t.Fatalf("scores a=%d b=%d, want %s to win", sa, sb, tc.want)
			}
			// The full search agrees.
			for range 5 {
				d, _ := c.schedule(mustInfo(t, tc.pod), strategy, 100, 0, testRNG())
				if d.host != tc.want {
					t.Fatalf("schedule chose %q (%s), want %s", d.host, d.explanation, tc.want)
				}
			}
		})
	}
}

func TestExplanationCountsEveryHost(t *testing.T) {
	c := newTestCache(
		testHost("h1", nil), testHost("h2", nil), testHost("h3", nil),
		testHost("m1", nil, func(h *corev1.Host) { h.Spec.Maintenance = true }),
		testHost("m2", nil, func(h *corev1.Host) { h.Spec.Maintenance = true }),
	)
	d, _ := c.schedule(mustInfo(t, testPod("p", "1", "9Gi", nil)), StrategySpread, 0, 0, testRNG())
	if want := "0/5 hosts available: 3 insufficient memory, 2 in maintenance"; d.host != "" || d.explanation != want {
		t.Fatalf("got host %q, %q; want %q", d.host, d.explanation, want)
	}
	d, _ = newCache().schedule(mustInfo(t, testPod("p", "1", "1Gi", nil)), StrategySpread, 0, 0, testRNG())
	if !strings.Contains(d.explanation, "no hosts") {
		t.Fatalf("empty cluster: %q", d.explanation)
	}
	d, _ = c.schedule(mustInfo(t, testPod("p", "1", "1Gi", nil)), StrategySpread, 0, 0, testRNG())
	if d.host == "" || !strings.Contains(d.explanation, "3 feasible") {
		t.Fatalf("placement: %+v", d)
	}
}

func TestSearchStopsEarlyOnLargeFleets(t *testing.T) {
	if got := feasibleToFind(50, 0); got != 50 {
		t.Errorf("small fleet: %d", got)
	}
	if got := feasibleToFind(5000, 0); got != 500 {
		t.Errorf("5000 hosts: %d, want 10%%", got)
	}
	if got := feasibleToFind(100000, 0); got != 5000 {
		t.Errorf("huge fleet: %d, want 5%%", got)
	}
	if got := feasibleToFind(5000, 100); got != 5000 {
		t.Errorf("100%%: %d", got)
	}
	var hosts []*corev1.Host
	for i := range 1000 {
		hosts = append(hosts, testHost(strings.Repeat("h", 1+i/100)+string(rune('a'+i%26))+string(rune('a'+i/26%26)), nil))
	}
	c := newTestCache(hosts...)
	d, next := c.schedule(mustInfo(t, testPod("p", "1", "1Gi", nil)), StrategySpread, 0, 0, testRNG())
	want := feasibleToFind(1000, 0)
	if d.feasible != want || d.checked != want || next != want {
		t.Fatalf("feasible %d checked %d next %d, want %d", d.feasible, d.checked, next, want)
	}
}

func TestQueueBacksOffAndWaitsForChanges(t *testing.T) {
	now := time.Unix(0, 0)
	q := newPodQueue(time.Second, 8*time.Second, time.Minute)
	q.now = func() time.Time { return now }
	q.add("a")
	key, ok := q.pop()
	if !ok || key != "a" {
		t.Fatal(key, ok)
	}
	q.done("a", unschedulable)
	q.tick()
	if a, b, p := q.lens(); a != 0 || b != 0 || p != 1 {
		t.Fatalf("after unschedulable: active %d backoff %d parked %d", a, b, p)
	}
	// Nothing changed: it stays parked however often we tick.
	now = now.Add(30 * time.Second)
	q.tick()
	if a, _, p := q.lens(); a != 0 || p != 1 {
		t.Fatal("parked pod retried without a change")
	}
	// A change moves it; its backoff (1s from parking) has passed.
	q.moveAll()
	q.tick()
	if a, _, _ := q.lens(); a != 1 {
		t.Fatal("moved pod not active")
	}
	q.pop()
	q.done("a", failed) // second failure: 2s backoff
	q.tick()
	if a, b, _ := q.lens(); a != 0 || b != 1 {
		t.Fatal("failed pod not backing off")
	}
	now = now.Add(1999 * time.Millisecond)
	q.tick()
	if a, _, _ := q.lens(); a != 0 {
		t.Fatal("backoff ended early")
	}
	now = now.Add(time.Millisecond)
	q.tick()
	if a, _, _ := q.lens(); a != 1 {
		t.Fatal("backoff did not end")
	}
	q.pop()
	q.done("a", unschedulable)
	// The periodic flush retries a parked pod after flushAfter.
	now = now.Add(time.Minute)
	q.tick()
	if a, _, _ := q.lens(); a != 1 {
		t.Fatal("flush did not retry the parked pod")
	}
	q.forget("a")
	if a, b, p := q.lens(); a+b+p != 0 {
		t.Fatal("forgotten pod still queued")
	}
	if q.backoff("never") != time.Second {
		t.Fatal("initial backoff")
	}
	q.attempts["x"] = 10
	if q.backoff("x") != 8*time.Second {
		t.Fatal("backoff not capped")
	}
}
