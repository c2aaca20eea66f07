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

// domainSet is a set of values of one host label.
type domainSet struct {
	key    string
	values map[string]bool
}

// spreadState is one spread constraint evaluated against the cache.
type spreadState struct {
	c         *spreadConstraint
	counts    map[string]int
	eligible  map[string]bool
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
			vals := make(map[string]bool, len(g.domains))
			for v := range g.domains {
				vals[v] = true
			}
			st.forbidden = append(st.forbidden, domainSet{key: g.term.topologyKey, values: vals})
		}
	}
	for _, t := range p.affinity {
		ds := c.domainsWithMatches(t)
		if len(ds.values) == 0 && t.matches(p) {
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

// domainsWithMatches is the set of domains (values of t.topologyKey) of
// hosts running a pod that t matches.
func (c *cache) domainsWithMatches(t *podTerm) domainSet {
	ds := domainSet{key: t.topologyKey, values: map[string]bool{}}
	c.candidates(t.namespaces, t.eq, func(q *podInfo) {
		if !t.matches(q) {
			return
		}
		if hi := c.hosts[q.host]; hi != nil {
			if v, ok := hi.labels[t.topologyKey]; ok {
				ds.values[v] = true
			}
		}
	})
	return ds
}

// spreadCounts counts the pods sc matches per domain, over the hosts the
// pod could go to by its host selector.
func (c *cache) spreadCounts(p *podInfo, sc *spreadConstraint) *spreadState {
	ss := &spreadState{c: sc, counts: map[string]int{}, eligible: map[string]bool{}}
	if sc.matches(p, p.ns) {
		ss.selfMatch = 1
	}
	eligibleHost := func(hi *hostInfo) bool { return true }
	if p.hostSelector.constrained() {
		eligibleHost = func(hi *hostInfo) bool { return p.hostSelector.matches(hi.labels) }
		for _, hi := range c.hosts {
			if v, ok := hi.labels[sc.topologyKey]; ok && eligibleHost(hi) {
				ss.eligible[v] = true
			}
		}
	} else {
		for v := range c.domains(sc.topologyKey) {
			ss.eligible[v] = true
		}
	}
	c.candidates([]string{p.ns}, sc.eq, func(q *podInfo) {
		if !sc.matches(q, p.ns) {
			return
		}
		hi := c.hosts[q.host]
		if hi == nil || !eligibleHost(hi) {
			return
		}
		if v, ok := hi.labels[sc.topologyKey]; ok && ss.eligible[v] {
			ss.counts[v]++
		}
	})
	first := true
	for v := range ss.eligible {
		if n := ss.counts[v]; first || n < ss.min {
			ss.min, first = n, false
		}
	}
	return ss
}

// domains returns the values of a host label over all hosts (cached until
// hosts change).
func (c *cache) domains(key string) map[string]bool {
	if c.domainCache == nil {
		c.domainCache = map[string]map[string]bool{}
	}
	if d, ok := c.domainCache[key]; ok {
		return d
	}
	d := map[string]bool{}
	for _, hi := range c.hosts {
		if v, ok := hi.labels[key]; ok {
			d[v] = true
		}
	}
	c.domainCache[key] = d
	return d
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
	case untoleratedTaint(hi.taints, p.tolerations, false) != nil:
		return reasonTaint
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
		if v, ok := hi.labels[ds.key]; !ok || !ds.values[v] {
			return reasonAffinity
		}
	}
	for _, ds := range st.forbidden {
		if v, ok := hi.labels[ds.key]; ok && ds.values[v] {
			return reasonAnti
		}
	}
	for _, ss := range st.spread {
		if !ss.c.hard {
			continue
		}
		v, ok := hi.labels[ss.c.topologyKey]
		if !ok {
			return reasonSpreadLabel
		}
		if ss.counts[v]+ss.selfMatch-ss.min > int(ss.c.maxSkew) {
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
