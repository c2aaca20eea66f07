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
	cpu           bool   // samples carry CPU time (cpuMeter)
	bareSpec      string // where the baseline's spec came from
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

// meanCPU is the mean CPU time per start of s.
func meanCPU(s []sample) cpuTime {
	if len(s) == 0 {
		return cpuTime{}
	}
	var sum cpuTime
	for _, x := range s {
		sum = sum.add(x.cpu)
	}
	return sum.div(len(s))
}

func (r *results) print(w io.Writer) {
	all := append(slices.Clone(r.seq), r.conc...)
	bareAll := append(slices.Clone(r.bare), r.bareConc...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tn\tp50 ms\tp90 ms\tp99 ms\tmax ms\tCPU ms/start\t(outside containers)\t(this process)")
	row := func(label string, s []sample, cpu bool) {
		if len(s) == 0 {
			return
		}
		d := latencies(s)
		c, out, self := "-", "-", "-"
		if cpu && r.cpu {
			m := meanCPU(s)
			c, out, self = fmt.Sprintf("%.1f", ms(m.total)), fmt.Sprintf("%.1f", ms(m.outside)), fmt.Sprintf("%.1f", ms(m.self))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\n", label, len(d),
			ms(percentile(d, 0.5)), ms(percentile(d, 0.9)), ms(percentile(d, 0.99)), ms(slices.Max(d)), c, out, self)
	}
	row("pods, sequential (create → Running via Watch)", r.seq, true)
	row("pods, concurrent (each from the batch's release)", r.conc, true)
	row("pods, all", all, true)
	row("bare runc run -d, sequential ("+r.bareSpec+")", r.bare, true)
	row("bare runc run -d, concurrent (each from the release)", r.bareConc, true)
	if len(r.bareConc) > 0 {
		row("bare runc run -d, all (same mix as pods, all)", bareAll, true)
	}
	row("bare runc create + start, sequential (reference)", r.bareSplit, true)
	// Where a pod's time goes: until the status says the container
	// started, and from there until the watcher saw Running.
	split := func(label string, ss []sample) {
		var toStart, toSeen []sample
		for _, s := range ss {
			if s.toStart > 0 {
				toStart = append(toStart, sample{latency: s.toStart})
				toSeen = append(toSeen, sample{latency: s.latency - s.toStart})
			}
		}
		row("  "+label+": create → container startedAt", toStart, false)
		row("  "+label+": startedAt → Running seen", toSeen, false)
	}
	split("sequential", r.seq)
	split("concurrent", r.conc)
	tw.Flush()
	if r.seqDeleteMean > 0 {
		fmt.Fprintf(w, "(sequential deletes, not measured above: mean %.1f ms from Delete to the pod gone)\n", ms(r.seqDeleteMean))
	}
	if r.cpu {
		fmt.Fprintln(w, "CPU ms/start: CPU time of everything the run started (API server, agent, image service, shims, runc, containers) while the starts ran, per start; concurrent: the batch's total / n. Outside containers: of it, what this process and the children in its cgroup used (shims, runc's own processes; not runc's init once in the container's cgroup, nor the container). This process: of that, the API server, agent, image service and this benchmark's client alone (for bare runc: the benchmark's own process). Whole machine: all CPU time busy and idle per start (/proc/stat, in 10 ms ticks; kernel threads and interrupts included, and anything else running)")
	}
	p99 := func(s []sample) time.Duration { return percentile(latencies(s), 0.99) }
	compare := func(label string, ours, bare []sample) {
		if len(ours) == 0 || len(bare) == 0 {
			return
		}
		o, b := p99(ours), p99(bare)
		fmt.Fprintf(w, "%s: pods p99 %.1f ms vs bare p99 %.1f ms (%+.1f ms, ratio %.2f)", label, ms(o), ms(b), ms(o-b), float64(o)/float64(max(b, 1)))
		if r.cpu {
			o, b := meanCPU(ours), meanCPU(bare)
			fmt.Fprintf(w, "; CPU per start %.1f vs %.1f ms (ratio %.2f; outside containers %.1f vs %.1f ms, of it shims and runc %.1f vs %.1f ms)",
				ms(o.total), ms(b.total), float64(o.total)/float64(max(b.total, 1)), ms(o.outside), ms(b.outside),
				ms(o.outside-o.self), ms(b.outside-b.self))
			fmt.Fprintf(w, "; whole machine per start: busy %.1f vs %.1f ms, idle %.1f vs %.1f ms",
				ms(o.machineBusy), ms(b.machineBusy), ms(o.machineIdle), ms(b.machineIdle))
		}
		fmt.Fprintln(w)
	}
	compare("sequential", r.seq, r.bare)
	compare("concurrent", r.conc, r.bareConc)
	// The ratio compares like with like: bare runc with the same mix of
	// sequential and concurrent starts as the pods, when it ran.
	base := r.bare
	if len(r.conc) > 0 && len(r.bareConc) > 0 {
		base = bareAll
	}
	ours99, bare99 := p99(all), p99(base)
	ratio := 0.0
	if bare99 > 0 {
		ratio = float64(ours99) / float64(bare99)
	}
	verdict := "met"
	if ours99 > bare99+50*time.Millisecond {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "target (issue 4): pods p99 ≤ bare p99 + 50 ms = %.1f ms: %s (pods p99 %.1f ms)\n", ms(bare99+50*time.Millisecond), verdict, ms(ours99))
	fmt.Fprintf(w, "RESULT podstart_p50_ms=%.1f podstart_p99_ms=%.1f runtime_p99_ms=%.1f podstart_p99_ratio=%.2f\n",
		ms(percentile(latencies(all), 0.5)), ms(ours99), ms(bare99), ratio)
}
