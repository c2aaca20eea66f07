package main

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// check verifies every placement from the stored objects alone, without
// the scheduler's code: each host's requests within allocatable, no two
// pods of an anti-affinity group on one host, each spread group's zone
// counts within maxSkew, every pod bound to an existing Ready host. It
// returns the violations found (each described) and the unbound pods.
func check(hosts []*corev1.Host, pods []*corev1.Pod) (violations []string, unbound int) {
	type hostUse struct {
		cpu, mem, pods, allocCPU, allocMem, allocPods int64
		zone                                          string
		ready                                         bool
	}
	use := map[string]*hostUse{}
	zones := map[string]bool{}
	for _, h := range hosts {
		a := h.GetStatus().GetAllocatable()
		u := &hostUse{allocCPU: parseMilli(a["cpu"]), allocMem: parseMilli(a["memory"]) / 1000, allocPods: parseMilli(a["pods"]) / 1000,
			zone: h.GetMetadata().GetLabels()[zoneLabel]}
		for _, c := range h.GetStatus().GetConditions() {
			u.ready = u.ready || (c.GetType() == "Ready" && c.GetStatus() == "True")
		}
		use[h.GetMetadata().GetName()] = u
		zones[u.zone] = true
	}
	antiSeen := map[string]string{} // group/host → pod
	spreadCounts := map[string]map[string]int{}
	for _, p := range pods {
		host := p.GetSpec().GetNodeName()
		if host == "" {
			unbound++
			continue
		}
		u := use[host]
		if u == nil {
			violations = append(violations, fmt.Sprintf("%s: bound to unknown host %s", p.GetMetadata().GetName(), host))
			continue
		}
		if !u.ready {
			violations = append(violations, fmt.Sprintf("%s: bound to host %s that is not Ready", p.GetMetadata().GetName(), host))
		}
		for _, c := range p.GetSpec().GetContainers() {
			u.cpu += parseMilli(c.GetResources().GetRequests()["cpu"])
			u.mem += parseMilli(c.GetResources().GetRequests()["memory"]) / 1000
		}
		u.pods++
		g := p.GetMetadata().GetLabels()[groupLabel]
		switch p.GetMetadata().GetLabels()[kindLabel] {
		case kindAnti:
			k := g + "/" + host
			if other, dup := antiSeen[k]; dup {
				violations = append(violations, fmt.Sprintf("anti-affinity: %s and %s (group %s) both on %s", other, p.GetMetadata().GetName(), g, host))
			}
			antiSeen[k] = p.GetMetadata().GetName()
		case kindSpread:
			if spreadCounts[g] == nil {
				spreadCounts[g] = map[string]int{}
			}
			spreadCounts[g][u.zone]++
		}
	}
	for name, u := range use {
		if u.cpu > u.allocCPU || u.mem > u.allocMem || u.pods > u.allocPods {
			violations = append(violations, fmt.Sprintf("capacity: host %s holds cpu %dm/%dm, memory %d/%d, pods %d/%d",
				name, u.cpu, u.allocCPU, u.mem, u.allocMem, u.pods, u.allocPods))
		}
	}
	for g, counts := range spreadCounts {
		lo, hi := -1, 0
		for z := range zones {
			n := counts[z]
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
		if hi-lo > spreadSkew {
			violations = append(violations, fmt.Sprintf("spread: group %s has skew %d over zones (%v)", g, hi-lo, counts))
		}
	}
	return violations, unbound
}

// parseMilli reads a quantity ("250m", "2", "512Mi", "8Gi") in
// milli-units; written here, not borrowed, so the checker is independent.
func parseMilli(s string) int64 {
	suffixes := []struct {
		s string
		m int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"m", 0}}
	for _, suf := range suffixes {
		if num, ok := strings.CutSuffix(s, suf.s); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return 0
			}
			if suf.m == 0 {
				return n
			}
			return n * suf.m * 1000
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n * 1000
}
