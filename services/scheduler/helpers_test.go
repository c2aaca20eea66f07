package scheduler

import (
	"math/rand/v2"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// testHost builds a Ready host with 4 CPUs and 8Gi for container pods.
func testHost(name string, labels map[string]string, mutate ...func(*corev1.Host)) *corev1.Host {
	l := map[string]string{"pacific.dev/hostname": name}
	for k, v := range labels {
		l[k] = v
	}
	h := &corev1.Host{
		Metadata: &corev1.ObjectMeta{Name: name, Labels: l},
		Spec:     &corev1.HostSpec{},
		Status: &corev1.HostStatus{
			Allocatable: map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"},
			Runtimes:    []*corev1.HostRuntime{{Name: "sim", Isolation: "container"}},
			Conditions:  []*corev1.Condition{{Type: "Ready", Status: "True"}},
		},
	}
	for _, m := range mutate {
		m(h)
	}
	return h
}

// testPod builds a pod in namespace demo requesting cpu and memory.
func testPod(name, cpu, mem string, labels map[string]string, mutate ...func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: "demo", Labels: labels, Generation: 1},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "main", Image: "busybox:1",
			Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": cpu, "memory": mem}},
		}}},
	}
	for _, m := range mutate {
		m(p.Spec)
	}
	return p
}

func mustInfo(t *testing.T, p *corev1.Pod) *podInfo {
	t.Helper()
	pi, err := newPodInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	return pi
}

// bindTo adds p to the cache as bound to host.
func bindTo(t *testing.T, c *cache, p *corev1.Pod, host string) {
	t.Helper()
	p.Spec.NodeName = host
	c.addPod(mustInfo(t, p))
}

func newTestCache(hosts ...*corev1.Host) *cache {
	c := newCache()
	for _, h := range hosts {
		c.setHost(h)
	}
	return c
}

func testRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func antiAffinity(key string, sel map[string]string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		if s.Affinity == nil {
			s.Affinity = &corev1.Affinity{}
		}
		s.Affinity.PodAntiAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: key, LabelSelector: &corev1.LabelSelector{MatchLabels: sel},
		}}}
	}
}

func podAffinity(key string, sel map[string]string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		if s.Affinity == nil {
			s.Affinity = &corev1.Affinity{}
		}
		s.Affinity.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: key, LabelSelector: &corev1.LabelSelector{MatchLabels: sel},
		}}}
	}
}

func spread(key string, maxSkew int32, when string, sel map[string]string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.TopologySpreadConstraints = append(s.TopologySpreadConstraints, &corev1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when, LabelSelector: &corev1.LabelSelector{MatchLabels: sel},
		})
	}
}
