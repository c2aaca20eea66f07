package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// results collects every phase's samples.
type results struct {
	seq           []sample
	conc          []sample
	bare          []sample
	bareSplit     []sample
	bareConc      []sample
	seqDeleteMean time.Duration
}

func latencies(s []sample) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = x.latency
	}
	return out
}

// percentile is the nearest-rank percentile (q in (0,1]) of d; 0 if empty.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

func (r *results) print(w io.Writer) {
	all := append(slices.Clone(r.seq), r.conc...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tn\tp50 ms\tp90 ms\tp99 ms\tmax ms")
	row := func(label string, d []time.Duration) {
		if len(d) == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", label, len(d),
			ms(percentile(d, 0.5)), ms(percentile(d, 0.9)), ms(percentile(d, 0.99)), ms(slices.Max(d)))
	}
	row("pods, sequential (create → Running via Watch)", latencies(r.seq))
	row("pods, concurrent (each from its own create)", latencies(r.conc))
	row("pods, all", latencies(all))
	row("bare runc run -d (same workload, default spec)", latencies(r.bare))
	row("bare runc create + start (reference)", latencies(r.bareSplit))
	row("bare runc run -d, concurrent (reference)", latencies(r.bareConc))
	bareAll := append(slices.Clone(r.bare), r.bareConc...)
	if len(r.bareConc) > 0 {
		row("bare runc run -d, all (same mix as pods, all)", latencies(bareAll))
	}
	// Where a sequential pod's time goes: until the status says the
	// container started, and from there until the watcher saw Running.
	var toStart, toSeen []time.Duration
	for _, s := range r.seq {
		if s.toStart > 0 {
			toStart = append(toStart, s.toStart)
			toSeen = append(toSeen, s.latency-s.toStart)
		}
	}
	row("  sequential: create → container startedAt", toStart)
	row("  sequential: startedAt → Running seen", toSeen)
	tw.Flush()
	if r.seqDeleteMean > 0 {
		fmt.Fprintf(w, "(sequential deletes, not measured above: mean %.1f ms from Delete to the pod gone)\n", ms(r.seqDeleteMean))
	}
	ours99, bare99 := percentile(latencies(all), 0.99), percentile(latencies(r.bare), 0.99)
	ratio := 0.0
	if bare99 > 0 {
		ratio = float64(ours99) / float64(bare99)
	}
	fmt.Fprintf(w, "target: pods p99 ≤ bare p99 + 50 ms = %.1f ms\n", ms(bare99+50*time.Millisecond))
	if len(r.bareConc) > 0 {
		mix99 := percentile(latencies(bareAll), 0.99)
		fmt.Fprintf(w, "same mix on both sides (sequential + concurrent): pods p99 %.1f ms vs bare p99 %.1f ms, ratio %.2f\n",
			ms(ours99), ms(mix99), float64(ours99)/float64(max(mix99, 1)))
	}
	fmt.Fprintf(w, "RESULT podstart_p50_ms=%.1f podstart_p99_ms=%.1f runtime_p99_ms=%.1f podstart_p99_ratio=%.2f\n",
		ms(percentile(latencies(all), 0.5)), ms(ours99), ms(bare99), ratio)
}
