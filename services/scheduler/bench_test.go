package scheduler

import (
	"fmt"
	"testing"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// BenchmarkSchedule measures one decision at 5,000 hosts with 5,000 pods
// already placed (a mix like bench/scheduler's).
func BenchmarkSchedule(b *testing.B) {
	c := newCache()
	for i := range 5000 {
		c.setHost(testHost(fmt.Sprintf("h%05d", i), map[string]string{zone: fmt.Sprintf("z%d", i%10)}))
	}
	mk := func(i int) *corev1.Pod {
		g := map[string]string{"group": fmt.Sprintf("g%d", i%50)}
		switch i % 4 {
		case 2:
			return testPod(fmt.Sprintf("p%d", i), "500m", "512Mi", g, antiAffinity("pacific.dev/hostname", g))
		case 3:
			return testPod(fmt.Sprintf("p%d", i), "500m", "512Mi", g, spread(zone, 1, "DoNotSchedule", g))
		}
		return testPod(fmt.Sprintf("p%d", i), "500m", "512Mi", nil)
	}
	rng := testRNG()
	next := 0
	for i := range 5000 {
		pi, _ := newPodInfo(mk(i))
		d, n := c.schedule(pi, StrategySpread, 0, next, rng)
		next = n
		pi.host = d.host
		c.addPod(pi)
	}
	pods := make([]*corev1.Pod, 64)
	for i := range pods {
		pods[i] = mk(5000 + i)
	}
	b.ResetTimer()
	for i := range b.N {
		pi, _ := newPodInfo(pods[i%len(pods)])
		d, n := c.schedule(pi, StrategySpread, 0, next, rng)
		next = n
		if d.host == "" {
			b.Fatal(d.explanation)
		}
	}
}
