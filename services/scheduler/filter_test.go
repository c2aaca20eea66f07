package scheduler

import (
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

const zone = "topology.pacific.dev/zone"

func TestFilters(t *testing.T) {
	web := map[string]string{"app": "web"}
	cases := []struct {
		name string
		// hosts in the cache; the filter is asked about the first.
		hosts []*corev1.Host
		// bound pods: pod → host.
		bound  map[*corev1.Pod]string
		pod    *corev1.Pod
		reason string // "" = fits
	}{
		{name: "fits", hosts: []*corev1.Host{testHost("h1", nil)}, pod: testPod("p", "1", "1Gi", nil)},
		{name: "not ready", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) { h.Status.Conditions[0].Status = "Unknown" })},
			pod: testPod("p", "1", "1Gi", nil), reason: reasonNotReady},
		{name: "no Ready condition", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) { h.Status.Conditions = nil })},
			pod: testPod("p", "1", "1Gi", nil), reason: reasonNotReady},
		{name: "cordoned", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) { h.Spec.Unschedulable = true })},
			pod: testPod("p", "1", "1Gi", nil), reason: reasonCordoned},
		{name: "maintenance", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) { h.Spec.Maintenance = true })},
			pod: testPod("p", "1", "1Gi", nil), reason: reasonMaintenance},
		{name: "vm isolation on a container host", hosts: []*corev1.Host{testHost("h1", nil)},
			pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) { s.Isolation = "vm" }), reason: reasonIsolation},
		{name: "vm isolation on a vm host", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Status.Runtimes = append(h.Status.Runtimes, &corev1.HostRuntime{Name: "vsphere", Isolation: "vm"})
		})}, pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) { s.Isolation = "vm" })},
		{name: "untolerated taint", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}}
		})}, pod: testPod("p", "1", "1Gi", nil), reason: reasonTaint + " dedicated=db:NoSchedule"},
		{name: "tolerated taint (Equal)", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}}
		})}, pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "db", Effect: "NoSchedule"}}
		})},
		{name: "toleration with the wrong value", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoExecute"}}
		})}, pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "dedicated", Value: "web"}}
		}), reason: reasonTaint + " dedicated=db:NoExecute"},
		{name: "Exists without key tolerates all", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "a", Effect: "NoSchedule"}, {Key: "b", Value: "x", Effect: "NoExecute"}}
		})}, pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) { s.Tolerations = []*corev1.Toleration{{Operator: "Exists"}} })},
		{name: "PreferNoSchedule does not filter", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) {
			h.Spec.Taints = []*corev1.Taint{{Key: "a", Effect: "PreferNoSchedule"}}
		})}, pod: testPod("p", "1", "1Gi", nil)},
		{name: "node selector mismatch", hosts: []*corev1.Host{testHost("h1", map[string]string{"disk": "hdd"})},
			pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} }), reason: reasonSelector},
		{name: "node selector match", hosts: []*corev1.Host{testHost("h1", map[string]string{"disk": "ssd"})},
			pod: testPod("p", "1", "1Gi", nil, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "ssd"} })},
		{name: "node affinity Gt", hosts: []*corev1.Host{testHost("h1", map[string]string{"cores": "8"})},
			pod: testPod("p", "1", "1Gi", nil, nodeAffinity("cores", "Gt", "16")), reason: reasonSelector},
		{name: "node affinity terms are ORed", hosts: []*corev1.Host{testHost("h1", map[string]string{"zone": "b"})},
			pod: testPod("p", "1", "1Gi", nil, nodeAffinity("zone", "In", "a"), nodeAffinity("zone", "In", "b"))},
		{name: "insufficient cpu", hosts: []*corev1.Host{testHost("h1", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "3500m", "1Gi", nil): "h1"},
			pod:   testPod("p", "1", "1Gi", nil), reason: reasonCPU},
		{name: "cpu exactly full fits", hosts: []*corev1.Host{testHost("h1", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "3", "1Gi", nil): "h1"},
			pod:   testPod("p", "1", "1Gi", nil)},
		{name: "insufficient memory", hosts: []*corev1.Host{testHost("h1", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "1", "7Gi", nil): "h1"},
			pod:   testPod("p", "1", "2Gi", nil), reason: reasonMemory},
		{name: "limit stands in for a missing request", hosts: []*corev1.Host{testHost("h1", nil)},
			pod: testPod("p", "0", "0", nil, func(s *corev1.PodSpec) {
				s.Containers[0].Resources = &corev1.ResourceRequirements{Limits: map[string]string{"memory": "9Gi"}}
			}), reason: reasonMemory},
		{name: "too many pods", hosts: []*corev1.Host{testHost("h1", nil, func(h *corev1.Host) { h.Status.Allocatable["pods"] = "1" })},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", nil): "h1"},
			pod:   testPod("p", "0", "0", nil), reason: reasonPods},
		{name: "a pod filling the host exactly fits", hosts: []*corev1.Host{testHost("h1", nil)},
			pod: testPod("p", "4", "8Gi", nil)},
		{name: "anti-affinity with a pod on the host", hosts: []*corev1.Host{testHost("h1", nil), testHost("h2", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h1"},
			pod:   testPod("p", "0", "0", web, antiAffinity("pacific.dev/hostname", web)), reason: reasonAnti},
		{name: "anti-affinity with a pod elsewhere", hosts: []*corev1.Host{testHost("h1", nil), testHost("h2", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h2"},
			pod:   testPod("p", "0", "0", web, antiAffinity("pacific.dev/hostname", web))},
		{name: "anti-affinity over zones", hosts: []*corev1.Host{testHost("h1", map[string]string{zone: "a"}), testHost("h2", map[string]string{zone: "a"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h2"},
			pod:   testPod("p", "0", "0", web, antiAffinity(zone, web)), reason: reasonAnti},
		{name: "anti-affinity of other namespaces does not count", hosts: []*corev1.Host{testHost("h1", nil)},
			bound: map[*corev1.Pod]string{func() *corev1.Pod { p := testPod("q", "0", "0", web); p.Metadata.Namespace = "other"; return p }(): "h1"},
			pod:   testPod("p", "0", "0", web, antiAffinity("pacific.dev/hostname", web))},
		{name: "existing pod's anti-affinity repels (symmetry)", hosts: []*corev1.Host{testHost("h1", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", map[string]string{"app": "db"}, antiAffinity("pacific.dev/hostname", web)): "h1"},
			pod:   testPod("p", "0", "0", web), reason: reasonAnti},
		{name: "pod affinity unmet", hosts: []*corev1.Host{testHost("h1", nil), testHost("h2", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", map[string]string{"app": "cache"}): "h2"},
			pod:   testPod("p", "0", "0", web, podAffinity("pacific.dev/hostname", map[string]string{"app": "cache"})), reason: reasonAffinity},
		{name: "pod affinity met", hosts: []*corev1.Host{testHost("h1", nil), testHost("h2", nil)},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", map[string]string{"app": "cache"}): "h1"},
			pod:   testPod("p", "0", "0", web, podAffinity("pacific.dev/hostname", map[string]string{"app": "cache"}))},
		{name: "pod affinity to itself: the first may go anywhere", hosts: []*corev1.Host{testHost("h1", nil)},
			pod: testPod("p", "0", "0", web, podAffinity(zone, web))},
		{name: "spread: skew would exceed", hosts: []*corev1.Host{testHost("h1", map[string]string{zone: "a"}), testHost("h2", map[string]string{zone: "b"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h1"},
			pod:   testPod("p", "0", "0", web, spread(zone, 1, "DoNotSchedule", web)), reason: reasonSpread},
		{name: "spread: within skew", hosts: []*corev1.Host{testHost("h1", map[string]string{zone: "a"}), testHost("h2", map[string]string{zone: "b"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h2"},
			pod:   testPod("p", "0", "0", web, spread(zone, 1, "DoNotSchedule", web))},
		{name: "spread: maxSkew 2", hosts: []*corev1.Host{testHost("h1", map[string]string{zone: "a"}), testHost("h2", map[string]string{zone: "b"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h1"},
			pod:   testPod("p", "0", "0", web, spread(zone, 2, "DoNotSchedule", web))},
		{name: "spread: host without the label", hosts: []*corev1.Host{testHost("h1", nil), testHost("h2", map[string]string{zone: "b"})},
			pod: testPod("p", "0", "0", web, spread(zone, 1, "DoNotSchedule", web)), reason: reasonSpreadLabel},
		{name: "spread: ScheduleAnyway never filters", hosts: []*corev1.Host{testHost("h1", map[string]string{zone: "a"}), testHost("h2", map[string]string{zone: "b"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h1"},
			pod:   testPod("p", "0", "0", web, spread(zone, 1, "ScheduleAnyway", web))},
		{name: "spread: only domains the pod may use count", hosts: []*corev1.Host{
			testHost("h1", map[string]string{zone: "a", "disk": "ssd"}), testHost("h2", map[string]string{zone: "b", "disk": "ssd"}), testHost("h3", map[string]string{zone: "c"})},
			bound: map[*corev1.Pod]string{testPod("q", "0", "0", web): "h2"},
			pod: testPod("p", "0", "0", web, spread(zone, 1, "DoNotSchedule", web), func(s *corev1.PodSpec) {
				s.NodeSelector = map[string]string{"disk": "ssd"}
			})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(tc.hosts...)
			for p, host := range tc.bound {
				bindTo(t, c, p, host)
			}
			st := c.prepare(mustInfo(t, tc.pod))
			if got := st.filter(c.hosts[tc.hosts[0].GetMetadata().GetName()]); got != tc.reason {
				t.Fatalf("filter = %q, want %q", got, tc.reason)
			}
		})
	}
}

func nodeAffinity(key, op string, values ...string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		if s.Affinity == nil {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}
		req := s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		req.NodeSelectorTerms = append(req.NodeSelectorTerms, &corev1.NodeSelectorTerm{
			MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}},
		})
	}
}

func TestFinishedAndDeletedPodsFreeTheirHost(t *testing.T) {
	c := newTestCache(testHost("h1", nil))
	q := testPod("q", "4", "1Gi", nil)
	bindTo(t, c, q, "h1")
	st := c.prepare(mustInfo(t, testPod("p", "1", "1Gi", nil)))
	if got := st.filter(c.hosts["h1"]); got != reasonCPU {
		t.Fatalf("full host: %q", got)
	}
	if !c.removePod("demo/q") {
		t.Fatal("bound pod unknown to the cache")
	}
	if got := st.filter(c.hosts["h1"]); got != "" {
		t.Fatalf("after the pod left: %q", got)
	}
	// A host that arrives after its pods still counts them.
	c2 := newCache()
	bindTo(t, c2, testPod("q", "4", "1Gi", nil), "late")
	c2.setHost(testHost("late", nil))
	if got := c2.prepare(mustInfo(t, testPod("p", "1", "1Gi", nil))).filter(c2.hosts["late"]); got != reasonCPU {
		t.Fatalf("host registered after its pods: %q", got)
	}
}

func TestHostUpdatesReachSearches(t *testing.T) {
	c := newTestCache(testHost("h1", nil))
	if d, _ := c.schedule(mustInfo(t, testPod("p", "1", "1Gi", nil)), StrategySpread, 0, 0, testRNG()); d.host != "h1" {
		t.Fatalf("first: %+v", d)
	}
	c.setHost(testHost("h1", nil, func(h *corev1.Host) { h.Spec.Maintenance = true }))
	if d, _ := c.schedule(mustInfo(t, testPod("p", "1", "1Gi", nil)), StrategySpread, 0, 0, testRNG()); d.host != "" {
		t.Fatalf("a host in maintenance was chosen: %+v", d)
	}
}

func TestTopologyFollowsHostChanges(t *testing.T) {
	web := map[string]string{"app": "web"}
	c := newTestCache(testHost("h1", map[string]string{zone: "a"}))
	bindTo(t, c, testPod("w1", "0", "0", web), "h1")
	p := testPod("p", "0", "0", web, spread(zone, 1, "DoNotSchedule", web))
	// Only zone a exists: placing there keeps skew 0.
	if d, _ := c.schedule(mustInfo(t, p), StrategySpread, 100, 0, testRNG()); d.host != "h1" {
		t.Fatalf("one zone: %+v", d)
	}
	// A new host brings zone b (a domain id the key has not seen): the pod
	// must go there now.
	c.setHost(testHost("h2", map[string]string{zone: "b"}))
	if d, _ := c.schedule(mustInfo(t, p), StrategySpread, 100, 0, testRNG()); d.host != "h2" {
		t.Fatalf("new zone: %+v", d)
	}
	// h2 moves to zone a: both hosts in a, so a fits again.
	c.setHost(testHost("h2", map[string]string{zone: "a"}))
	c.removeHost("h1")
	if d, _ := c.schedule(mustInfo(t, p), StrategySpread, 100, 0, testRNG()); d.host != "h2" {
		t.Fatalf("relabelled: %+v", d)
	}
	// Anti-affinity groups follow relabelling too.
	anti := testPod("a1", "0", "0", web, antiAffinity(zone, web))
	c2 := newTestCache(testHost("x", map[string]string{zone: "a"}), testHost("y", map[string]string{zone: "b"}))
	bindTo(t, c2, anti, "x")
	if got := c2.prepare(mustInfo(t, testPod("q", "0", "0", web))).filter(c2.hosts["x"]); got != reasonAnti {
		t.Fatalf("symmetric anti-affinity: %q", got)
	}
	c2.setHost(testHost("x", map[string]string{zone: "c"}))
	st := c2.prepare(mustInfo(t, testPod("q", "0", "0", web)))
	if got := st.filter(c2.hosts["y"]); got != "" {
		t.Fatalf("y in zone b: %q", got)
	}
	if got := st.filter(c2.hosts["x"]); got != reasonAnti {
		t.Fatalf("x after relabel: %q", got)
	}
}
