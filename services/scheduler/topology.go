package scheduler

// Topology keys (host labels such as topology.pacific.dev/zone) and their
// values are interned: each key used by a pod gets an index, each value of
// it a dense domain id, and every host records its domain id per key. The
// per-host checks of affinity and spread then index slices instead of
// hashing label strings, which is most of a search's cost at thousands of
// hosts.

// noDomain is a host's domain id for a key it does not carry.
const noDomain = -1

// keyIndex returns the index of a topology key, interning it (and filling
// every host's domain id for it) on first use.
func (c *cache) keyIndex(key string) int {
	if idx, ok := c.keyIdx[key]; ok {
		return idx
	}
	if c.keyIdx == nil {
		c.keyIdx = map[string]int{}
	}
	idx := len(c.keyNames)
	c.keyIdx[key] = idx
	c.keyNames = append(c.keyNames, key)
	c.keyVals = append(c.keyVals, map[string]int32{})
	for _, hi := range c.hosts {
		hi.topo = append(hi.topo, c.domainID(idx, hi.labels))
	}
	return idx
}

// domainID is the id of the host's value for key idx, or noDomain.
func (c *cache) domainID(idx int, labels map[string]string) int32 {
	v, ok := labels[c.keyNames[idx]]
	if !ok {
		return noDomain
	}
	id, ok := c.keyVals[idx][v]
	if !ok {
		id = int32(len(c.keyVals[idx]))
		c.keyVals[idx][v] = id
	}
	return id
}

// fillTopology sets a new host's domain ids for every interned key.
func (c *cache) fillTopology(hi *hostInfo) {
	hi.topo = make([]int32, len(c.keyNames))
	for idx := range c.keyNames {
		hi.topo[idx] = c.domainID(idx, hi.labels)
	}
}

// numDomains is how many domain ids key idx has handed out.
func (c *cache) numDomains(idx int) int { return len(c.keyVals[idx]) }

// domainSet is a set of domains of one key.
type domainSet struct {
	idx int
	in  []bool // by domain id
}

func (c *cache) newDomainSet(key string) domainSet {
	idx := c.keyIndex(key)
	return domainSet{idx: idx, in: make([]bool, c.numDomains(idx))}
}

// add puts the domain of host hi in the set.
func (d domainSet) add(hi *hostInfo) {
	if id := hi.topo[d.idx]; id != noDomain {
		d.in[id] = true
	}
}

// has reports whether host hi is in one of the set's domains.
func (d domainSet) has(hi *hostInfo) bool {
	id := hi.topo[d.idx]
	return id != noDomain && int(id) < len(d.in) && d.in[id]
}

func (d domainSet) empty() bool {
	for _, b := range d.in {
		if b {
			return false
		}
	}
	return true
}

// domainsInUse returns which domains of key idx have at least one host
// (cached until hosts change).
func (c *cache) domainsInUse(idx int) []bool {
	if d, ok := c.domainCache[idx]; ok && len(d) == c.numDomains(idx) {
		return d
	}
	if c.domainCache == nil {
		c.domainCache = map[int][]bool{}
	}
	d := make([]bool, c.numDomains(idx))
	for _, hi := range c.hosts {
		if id := hi.topo[idx]; id != noDomain {
			d[id] = true
		}
	}
	c.domainCache[idx] = d
	return d
}
