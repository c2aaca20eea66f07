package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// decision is the outcome of one scheduling attempt.
type decision struct {
	host string
	// explanation says why (placed: how many hosts were feasible; not
	// placed: why each host was not).
	explanation string
	feasible    int
	checked     int
}

// minFeasibleToFind is the least number of feasible hosts a search looks
// for before it stops (kube-scheduler's minFeasibleNodesToFind).
const minFeasibleToFind = 100

// feasibleToFind is how many feasible hosts to find among n before
// choosing: all of them for small fleets, an adaptive share of large ones
// (50% minus 1% per 125 hosts, at least 5%, as kube-scheduler does), or
// percent% if set.
func feasibleToFind(n, percent int) int {
	if n <= minFeasibleToFind || percent >= 100 {
		return n
	}
	if percent <= 0 {
		percent = max(50-n/125, 5)
	}
	return max(n*percent/100, minFeasibleToFind)
}

// schedule picks a host for the pod, or explains why none fits. start is
// where the round-robin search begins; it returns where the next should.
func (c *cache) schedule(p *podInfo, strategy string, percent, start int, rng *rand.Rand) (decision, int) {
	hosts := c.hostOrder()
	n := len(hosts)
	if n == 0 {
		return decision{explanation: "0/0 hosts available: no hosts registered"}, 0
	}
	st := c.prepare(p)
	want := feasibleToFind(n, percent)
	reasons := map[string]int{}
	var best *hostInfo
	var bestScore int64
	ties := 0
	d := decision{}
	start %= n
	for i := range n {
		hi := hosts[(start+i)%n]
		d.checked++
		if r := st.filter(hi); r != "" {
			reasons[r]++
			continue
		}
		d.feasible++
		s := st.score(hi, strategy)
		switch {
		case best == nil || s > bestScore:
			best, bestScore, ties = hi, s, 1
		case s == bestScore:
			// Reservoir sampling: each tied host equally likely.
			ties++
			if rng.IntN(ties) == 0 {
				best = hi
			}
		}
		if d.feasible >= want {
			break
		}
	}
	next := (start + d.checked) % n
	if best == nil {
		d.explanation = explain(n, reasons)
		return d, next
	}
	d.host = best.name
	d.explanation = fmt.Sprintf("placed on %s (score %d): %d feasible of %d hosts checked, %d hosts in all", best.name, bestScore, d.feasible, d.checked, n)
	return d, next
}

// explain formats "0/5 hosts available: 3 insufficient memory, 2 in
// maintenance", most common reason first.
func explain(total int, reasons map[string]int) string {
	type rc struct {
		reason string
		n      int
	}
	list := make([]rc, 0, len(reasons))
	for r, n := range reasons {
		list = append(list, rc{r, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].reason < list[j].reason
	})
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.reason)
	}
	return fmt.Sprintf("0/%d hosts available: %s", total, strings.Join(parts, ", "))
}
