package main

import (
	"fmt"
	"math/rand/v2"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

const (
	namespace    = "bench"
	zoneLabel    = "topology.pacific.dev/zone"
	hostLabel    = "pacific.dev/hostname"
	antiGroupOf  = 20
	spreadGroup  = 100
	spreadSkew   = 1
	kindLabel    = "bench.pacific.dev/kind"
	groupLabel   = "bench.pacific.dev/group"
	kindPlain    = "plain"
	kindAnti     = "anti"
	kindSpread   = "spread"
	hostCPUMilli = 4000
	hostMemBytes = 8 << 30
)

// podMix returns the pods to create in a shuffled order: half plain, a
// quarter with required anti-affinity per host within groups of 20, a
// quarter spread over zones (maxSkew 1) within groups of 100. Requests
// vary so capacity matters: 250m–1250m cpu, 256Mi–1536Mi memory (on
// average a quarter of a host's cpu and a tenth of its memory).
func podMix(n int, seed uint64) []*corev1.Pod {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pods := make([]*corev1.Pod, 0, n)
	for i := range n {
		kind := kindPlain
		switch i % 4 {
		case 2:
			kind = kindAnti
		case 3:
			kind = kindSpread
		}
		cpu := 250 + 250*rng.IntN(5)
		mem := 256 << (rng.IntN(3))
		if mem == 1024 {
			mem = 1536
		}
		p := &corev1.Pod{
			Metadata: &corev1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Namespace: namespace, Labels: map[string]string{kindLabel: kind}},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
				Name: "main", Image: "127.0.0.1:5000/busybox:1",
				Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": fmt.Sprintf("%dm", cpu), "memory": fmt.Sprintf("%dMi", mem)}},
			}}},
		}
		switch kind {
		case kindAnti:
			g := fmt.Sprintf("anti-%d", i/4/antiGroupOf)
			p.Metadata.Labels[groupLabel] = g
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				TopologyKey: hostLabel, LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{groupLabel: g}},
			}}}}
		case kindSpread:
			g := fmt.Sprintf("spread-%d", i/4/spreadGroup)
			p.Metadata.Labels[groupLabel] = g
			p.Spec.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{
				MaxSkew: spreadSkew, TopologyKey: zoneLabel, WhenUnsatisfiable: "DoNotSchedule",
				LabelSelector: &corev1.LabelSelector{MatchLabels: map[string]string{groupLabel: g}},
			}}
		}
		pods = append(pods, p)
	}
	rng.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	return pods
}
