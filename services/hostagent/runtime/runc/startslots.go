package runc

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"golang.org/x/sys/unix"
)

// startSlots gives each container start a CPU for runc's process while
// `runc create` (or `run --detach`) runs: at most Options.StartsPerCPU
// starts per CPU at a time, each runc pinned to its CPU by the shim
// (decision 0034).
// runc itself gives the container's init the CPUs of its cgroup.
type startSlots struct{ free chan int }

// DefaultStartsPerCPU: with one slot per CPU, a runc waiting on its init
// leaves its CPU idle when only runc work is left; two keep them busy, and
// three or four did no better (decision 0034).
const DefaultStartsPerCPU = 2

// newStartSlots hands out each CPU perCPU times, the CPUs in turn, so
// that the first starts go to different CPUs.
func newStartSlots(cpus []int, perCPU int) *startSlots {
	s := &startSlots{free: make(chan int, len(cpus)*perCPU)}
	for range perCPU {
		for _, c := range cpus {
			s.free <- c
		}
	}
	return s
}

// acquire waits for a free CPU.
func (s *startSlots) acquire(ctx context.Context) (int, error) {
	select {
	case c := <-s.free:
		return c, nil
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

func (s *startSlots) release(cpu int) { s.free <- cpu }

// allowedCPUs lists the CPUs the calling thread may run on.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := 0; c < len(set)*64 && len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

var runcVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// resetsInitAffinity reports whether runc version v gives a container's
// init the CPUs its cgroup allows instead of runc's own affinity, so that
// pinning runc does not pin the container: runc 1.2.7, 1.3.1 and 1.4.0 on
// (runc's CHANGELOG, #4041 #4815 #4858).
func resetsInitAffinity(v string) bool {
	m := runcVersionRE.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	patch, _ := strconv.Atoi(m[3])
	switch {
	case major != 1:
		return major > 1
	case minor == 2:
		return patch >= 7
	case minor == 3:
		return patch >= 1
	}
	return minor >= 4
}
