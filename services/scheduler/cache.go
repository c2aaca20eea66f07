package scheduler

import (
	"maps"
	"sort"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/sdk/quantity"
)

// Pod phases that no longer hold resources.
const (
	phaseSucceeded = "Succeeded"
	phaseFailed    = "Failed"
)

// hostInfo is a Host with what is bound to it.
type hostInfo struct {
	name   string
	labels map[string]string
	// Allocatable in milli-cpu, bytes and pods.
	allocCPU, allocMem, allocPods int64
	ready, cordoned, maintenance  bool
	taints                        []*corev1.Taint
	isolations                    []string
	// What bound and assumed pods request.
	usedCPU, usedMem, usedPods int64
	pods                       map[*podInfo]struct{}
	// topo is the host's domain id per interned topology key.
	topo []int32
}

func newHostInfo(h *corev1.Host) *hostInfo {
	hi := &hostInfo{
		name:        h.GetMetadata().GetName(),
		labels:      h.GetMetadata().GetLabels(),
		cordoned:    h.GetSpec().GetUnschedulable(),
		maintenance: h.GetSpec().GetMaintenance(),
		taints:      h.GetSpec().GetTaints(),
		pods:        map[*podInfo]struct{}{},
	}
	alloc := h.GetStatus().GetAllocatable()
	hi.allocCPU = milli(alloc["cpu"])
	hi.allocMem = milli(alloc["memory"]) / 1000
	hi.allocPods = milli(alloc["pods"]) / 1000
	if _, ok := alloc["pods"]; !ok {
		hi.allocPods = 110
	}
	for _, c := range h.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			hi.ready = c.GetStatus() == "True"
		}
	}
	for _, rt := range h.GetStatus().GetRuntimes() {
		hi.isolations = append(hi.isolations, rt.GetIsolation())
	}
	return hi
}

func milli(s string) int64 {
	q, err := quantity.Parse(s)
	if err != nil {
		return 0
	}
	return q.Milli()
}

// cache holds the hosts and the pods bound (or assumed bound) to them,
// with indexes for affinity and spread. Not safe for concurrent use: the
// scheduler guards it with its mutex.
type cache struct {
	hosts map[string]*hostInfo
	// order is the hosts sorted by name: searches walk it round-robin.
	order      []*hostInfo
	orderDirty bool
	// pods by key (namespace/name): bound or assumed, not finished.
	pods map[string]*podInfo
	// byNS and byLabel index pods for selectors: namespace → pods, and
	// namespace → "key=value" → pods.
	byNS    map[string]map[*podInfo]struct{}
	byLabel map[string]map[string]map[*podInfo]struct{}
	// antiGroups: existing pods' required anti-affinity terms, grouped by
	// equal term, with the count of such pods per topology domain.
	antiGroups map[string]*antiGroup
	// orphans are pods bound to hosts not (yet) in the cache.
	orphans map[string]map[*podInfo]struct{}
	// Interned topology keys and values (topology.go), and which domains
	// of a key have hosts (cached until hosts change).
	keyIdx      map[string]int
	keyNames    []string
	keyVals     []map[string]int32
	domainCache map[int][]bool
}

type antiGroup struct {
	term    *podTerm
	idx     int
	domains map[int32]int // domain id → pods
}

func newCache() *cache {
	return &cache{
		hosts:      map[string]*hostInfo{},
		pods:       map[string]*podInfo{},
		byNS:       map[string]map[*podInfo]struct{}{},
		byLabel:    map[string]map[string]map[*podInfo]struct{}{},
		antiGroups: map[string]*antiGroup{},
		orphans:    map[string]map[*podInfo]struct{}{},
	}
}

// setHost adds or replaces a host, keeping its pods.
func (c *cache) setHost(h *corev1.Host) {
	hi := newHostInfo(h)
	c.fillTopology(hi)
	old := c.hosts[hi.name]
	if old == nil || !maps.Equal(old.labels, hi.labels) {
		c.domainCache = nil
	}
	var pods map[*podInfo]struct{}
	if old != nil {
		pods = old.pods
		for p := range pods {
			c.unindexAnti(p, old)
		}
	} else {
		pods = c.orphans[hi.name]
		delete(c.orphans, hi.name)
	}
	// order holds hostInfo pointers: rebuild it to hold the new one.
	c.orderDirty = true
	c.hosts[hi.name] = hi
	for p := range pods {
		c.attach(p, hi)
	}
}

func (c *cache) removeHost(name string) {
	hi := c.hosts[name]
	if hi == nil {
		return
	}
	delete(c.hosts, name)
	c.orderDirty = true
	c.domainCache = nil
	if len(hi.pods) > 0 {
		c.orphans[name] = hi.pods
		for p := range hi.pods {
			c.unindexAnti(p, hi)
		}
	}
}

func (c *cache) hostOrder() []*hostInfo {
	if c.orderDirty {
		c.order = c.order[:0]
		for _, h := range c.hosts {
			c.order = append(c.order, h)
		}
		sort.Slice(c.order, func(i, j int) bool { return c.order[i].name < c.order[j].name })
		c.orderDirty = false
	}
	return c.order
}

// addPod records a pod bound or assumed bound to p.host, replacing an
// earlier version of it.
func (c *cache) addPod(p *podInfo) {
	c.removePod(p.key)
	c.pods[p.key] = p
	if c.byNS[p.ns] == nil {
		c.byNS[p.ns] = map[*podInfo]struct{}{}
		c.byLabel[p.ns] = map[string]map[*podInfo]struct{}{}
	}
	c.byNS[p.ns][p] = struct{}{}
	for k, v := range p.labels {
		kv := k + "=" + v
		if c.byLabel[p.ns][kv] == nil {
			c.byLabel[p.ns][kv] = map[*podInfo]struct{}{}
		}
		c.byLabel[p.ns][kv][p] = struct{}{}
	}
	if hi := c.hosts[p.host]; hi != nil {
		hi.pods[p] = struct{}{}
		c.attach(p, hi)
	} else {
		if c.orphans[p.host] == nil {
			c.orphans[p.host] = map[*podInfo]struct{}{}
		}
		c.orphans[p.host][p] = struct{}{}
	}
}

// attach counts p's requests and anti-affinity on hi (p is in hi.pods).
func (c *cache) attach(p *podInfo, hi *hostInfo) {
	hi.pods[p] = struct{}{}
	c.recount(hi)
	for _, t := range p.anti {
		idx := c.keyIndex(t.topologyKey)
		id := hi.topo[idx]
		if id == noDomain {
			continue
		}
		g := c.antiGroups[t.id]
		if g == nil {
			g = &antiGroup{term: t, idx: idx, domains: map[int32]int{}}
			c.antiGroups[t.id] = g
		}
		g.domains[id]++
	}
}

func (c *cache) unindexAnti(p *podInfo, hi *hostInfo) {
	for _, t := range p.anti {
		id := hi.topo[c.keyIndex(t.topologyKey)]
		if id == noDomain {
			continue
		}
		if g := c.antiGroups[t.id]; g != nil {
			if g.domains[id]--; g.domains[id] <= 0 {
				delete(g.domains, id)
			}
			if len(g.domains) == 0 {
				delete(c.antiGroups, t.id)
			}
		}
	}
}

func (c *cache) recount(hi *hostInfo) {
	hi.usedCPU, hi.usedMem, hi.usedPods = 0, 0, 0
	for p := range hi.pods {
		hi.usedCPU += p.cpuMilli
		hi.usedMem += p.memBytes
		hi.usedPods++
	}
}

// removePod forgets a pod; it returns whether it was known.
func (c *cache) removePod(key string) bool {
	p := c.pods[key]
	if p == nil {
		return false
	}
	delete(c.pods, key)
	delete(c.byNS[p.ns], p)
	for k, v := range p.labels {
		delete(c.byLabel[p.ns][k+"="+v], p)
	}
	if hi := c.hosts[p.host]; hi != nil {
		delete(hi.pods, p)
		hi.usedCPU -= p.cpuMilli
		hi.usedMem -= p.memBytes
		hi.usedPods--
		c.unindexAnti(p, hi)
	} else {
		delete(c.orphans[p.host], p)
	}
	return true
}

// candidates calls fn for every cached pod in namespaces that the selector
// of t (or c) may match, using the label index to avoid a full scan.
func (c *cache) candidates(namespaces []string, equalities map[string]string, fn func(*podInfo)) {
	for _, ns := range namespaces {
		var smallest map[*podInfo]struct{}
		found := false
		for k, v := range equalities {
			set := c.byLabel[ns][k+"="+v]
			if !found || len(set) < len(smallest) {
				smallest, found = set, true
			}
		}
		if !found {
			smallest = c.byNS[ns]
		}
		for p := range smallest {
			fn(p)
		}
	}
}

// isTerminal reports whether a pod no longer holds resources.
func isTerminal(p *corev1.Pod) bool {
	ph := p.GetStatus().GetPhase()
	return ph == phaseSucceeded || ph == phaseFailed
}
