package scheduler

// Strategies for the resource score.
const (
	// StrategySpread prefers the least allocated hosts.
	StrategySpread = "spread"
	// StrategyBinpack prefers the most allocated hosts that still fit.
	StrategyBinpack = "binpack"
)

// Weights of the score parts: resources score 0–100; preferences add
// their weights (1–100 each); soft spread and PreferNoSchedule taints
// subtract.
const (
	spreadPenalty = 20
	taintPenalty  = 50
)

// score rates a feasible host; higher is better.
func (st *podState) score(hi *hostInfo, strategy string) int64 {
	p := st.pod
	s := resourceScore(hi, p, strategy)
	for _, pref := range p.hostSelector.preferred {
		if pref.selector.Matches(hi.labels) {
			s += int64(pref.weight)
		}
	}
	for _, wd := range st.prefAffinity {
		if wd.has(hi) {
			s += int64(wd.weight)
		}
	}
	for _, wd := range st.prefAnti {
		if wd.has(hi) {
			s -= int64(wd.weight)
		}
	}
	for _, ss := range st.spread {
		if ss.c.hard {
			continue
		}
		skew, ok := ss.skew(hi)
		if !ok {
			s -= spreadPenalty * int64(ss.c.maxSkew+1)
			continue
		}
		if skew > 0 {
			s -= spreadPenalty * int64(skew)
		}
	}
	if untoleratedTaint(hi.taints, p.tolerations, true) != nil {
		s -= taintPenalty
	}
	return s
}

// resourceScore is 0–100: the share of cpu and memory left free after
// placing the pod (spread) or the share used (binpack), averaged over the
// resources the host has.
func resourceScore(hi *hostInfo, p *podInfo, strategy string) int64 {
	var sum, n int64
	for _, r := range [][3]int64{{hi.usedCPU, p.cpuMilli, hi.allocCPU}, {hi.usedMem, p.memBytes, hi.allocMem}} {
		used, req, alloc := r[0], r[1], r[2]
		if alloc <= 0 {
			continue
		}
		free := (alloc - used - req) * 100 / alloc
		if strategy == StrategyBinpack {
			free = 100 - free
		}
		sum += free
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
