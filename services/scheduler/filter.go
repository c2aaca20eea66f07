package scheduler

import (
	"fmt"
	"slices"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// Why a host does not fit, as shown in explanations ("3 insufficient
// memory"). Each host counts under the first filter it fails.
const (
	reasonNotReady    = "not ready"
	reasonCordoned    = "cordoned"
	reasonMaintenance = "in maintenance"
	reasonIsolation   = "no runtime offering the pod's isolation"
	reasonTaint       = "untolerated taint"
	reasonSelector    = "not matching the pod's host selector or affinity"
	reasonCPU         = "insufficient cpu"
	reasonMemory      = "insufficient memory"
	reasonPods        = "too many pods"
	reasonAffinity    = "not satisfying pod affinity"
	reasonAnti        = "conflicting with pod anti-affinity"
	reasonSpread      = "exceeding a topology spread constraint's maxSkew"
	reasonSpreadLabel = "missing a topology spread label"
)

// spreadState is one spread constraint evaluated against the cache.
type spreadState struct {
	c         *spreadConstraint
	idx       int
	counts    []int // by domain id
	eligible  []bool
	min       int
	selfMatch int
}

// podState is everything about a pod's placement that does not depend on
// the host, computed once per scheduling attempt.
type podState struct {
	pod *podInfo
	// forbidden: the host's domain must not be in any of these (the pod's
	// anti-affinity and existing pods' anti-affinity matching it).
	forbidden []domainSet
	// required: the host's domain must be in each of these.
	required []domainSet
	spread   []*spreadState
	// For scores.
	prefAffinity, prefAnti []weightedDomains
}

type weightedDomains struct {
	domainSet
	weight int32
}

// prepare evaluates the pod's affinity and spread against the cache.
func (c *cache) prepare(p *podInfo) *podState {
	st := &podState{pod: p}
	for _, t := range p.anti {
		st.forbidden = append(st.forbidden, c.domainsWithMatches(t))
	}
	for _, g := range c.antiGroups {
		if g.term.matches(p) {
			ds := domainSet{idx: g.idx, in: make([]bool, c.numDomains(g.idx))}
			for id := range g.domains {
				ds.in[id] = true
			}
			st.forbidden = append(st.forbidden, ds)
		}
	}
	for _, t := range p.affinity {
		ds := c.domainsWithMatches(t)
		if ds.empty() && t.matches(p) {
			// The first pod of a group that wants to be near its peers
			// may go anywhere (as in Kubernetes).
			continue
		}
		st.required = append(st.required, ds)
	}
	for _, t := range p.prefAffinity {
		st.prefAffinity = append(st.prefAffinity, weightedDomains{c.domainsWithMatches(t), t.weight})
	}
	for _, t := range p.prefAnti {
		st.prefAnti = append(st.prefAnti, weightedDomains{c.domainsWithMatches(t), t.weight})
	}
	for _, sc := range p.spread {
		st.spread = append(st.spread, c.spreadCounts(p, sc))
	}
	return st
}

// domainsWithMatches is the set of domains (of t.topologyKey) of hosts
// running a pod that t matches.
func (c *cache) domainsWithMatches(t *podTerm) domainSet {
	ds := c.newDomainSet(t.topologyKey)
	c.candidates(t.namespaces, t.eq, func(q *podInfo) {
		if !t.matches(q) {
			return
		}
		if hi := c.hosts[q.host]; hi != nil {
			ds.add(hi)
		}
	})
	return ds
}

// spreadCounts counts the pods sc matches per domain, over the hosts the
// pod could go to by its host selector.
func (c *cache) spreadCounts(p *podInfo, sc *spreadConstraint) *spreadState {
	idx := c.keyIndex(sc.topologyKey)
	n := c.numDomains(idx)
	ss := &spreadState{c: sc, idx: idx, counts: make([]int, n)}
	if sc.matches(p, p.ns) {
		ss.selfMatch = 1
	}
	eligibleHost := func(hi *hostInfo) bool { return true }
	if p.hostSelector.constrained() {
		eligibleHost = func(hi *hostInfo) bool { return p.hostSelector.matches(hi.labels) }
		ss.eligible = make([]bool, n)
		for _, hi := range c.hosts {
			if id := hi.topo[idx]; id != noDomain && eligibleHost(hi) {
				ss.eligible[id] = true
			}
		}
	} else {
		ss.eligible = c.domainsInUse(idx)
	}
	c.candidates([]string{p.ns}, sc.eq, func(q *podInfo) {
		if !sc.matches(q, p.ns) {
			return
		}
		hi := c.hosts[q.host]
		if hi == nil || !eligibleHost(hi) {
			return
		}
		if id := hi.topo[idx]; id != noDomain && ss.eligible[id] {
			ss.counts[id]++
		}
	})
	first := true
	for id, ok := range ss.eligible {
		if ok && (first || ss.counts[id] < ss.min) {
			ss.min, first = ss.counts[id], false
		}
	}
	return ss
}

// skew is how far above the least loaded domain placing the pod on hi
// would put hi's domain; ok is false if hi lacks the key.
func (ss *spreadState) skew(hi *hostInfo) (skew int, ok bool) {
	id := hi.topo[ss.idx]
	if id == noDomain {
		return 0, false
	}
	n := 0
	if int(id) < len(ss.counts) {
		n = ss.counts[id]
	}
	return n + ss.selfMatch - ss.min, true
}

// filter returns "" if the pod fits the host, else the reason it does not.
func (st *podState) filter(hi *hostInfo) string {
	p := st.pod
	switch {
	case !hi.ready:
		return reasonNotReady
	case hi.maintenance:
		return reasonMaintenance
	case hi.cordoned:
		return reasonCordoned
	case !slices.Contains(hi.isolations, p.isolation):
		return reasonIsolation
	}
	if t := untoleratedTaint(hi.taints, p.tolerations, false); t != nil {
		return reasonTaint + " " + taintString(t)
	}
	switch {
	case !p.hostSelector.matches(hi.labels):
		return reasonSelector
	case hi.usedCPU+p.cpuMilli > hi.allocCPU:
		return reasonCPU
	case hi.usedMem+p.memBytes > hi.allocMem:
		return reasonMemory
	case hi.usedPods+1 > hi.allocPods:
		return reasonPods
	}
	for _, ds := range st.required {
		if !ds.has(hi) {
			return reasonAffinity
		}
	}
	for _, ds := range st.forbidden {
		if ds.has(hi) {
			return reasonAnti
		}
	}
	for _, ss := range st.spread {
		if !ss.c.hard {
			continue
		}
		skew, ok := ss.skew(hi)
		if !ok {
			return reasonSpreadLabel
		}
		if skew > int(ss.c.maxSkew) {
			return reasonSpread
		}
	}
	return ""
}

// untoleratedTaint returns the first taint of the host the tolerations do
// not tolerate: NoSchedule and NoExecute ones, or with soft also
// PreferNoSchedule ones.
func untoleratedTaint(taints []*corev1.Taint, tols []*corev1.Toleration, soft bool) *corev1.Taint {
	for _, t := range taints {
		if (t.GetEffect() == "PreferNoSchedule") != soft {
			continue
		}
		if !slices.ContainsFunc(tols, func(tol *corev1.Toleration) bool { return tolerates(tol, t) }) {
			return t
		}
	}
	return nil
}

// tolerates is Kubernetes' rule: empty effect matches all effects; an
// empty key with Exists matches every taint.
func tolerates(tol *corev1.Toleration, t *corev1.Taint) bool {
	if tol.GetEffect() != "" && tol.GetEffect() != t.GetEffect() {
		return false
	}
	if tol.GetKey() != "" && tol.GetKey() != t.GetKey() {
		return false
	}
	switch tol.GetOperator() {
	case "Exists":
		return true
	case "", "Equal":
		return tol.GetKey() != "" && tol.GetValue() == t.GetValue()
	}
	return false
}

func taintString(t *corev1.Taint) string {
	if t.GetValue() == "" {
		return fmt.Sprintf("%s:%s", t.GetKey(), t.GetEffect())
	}
	return fmt.Sprintf("%s=%s:%s", t.GetKey(), t.GetValue(), t.GetEffect())
}
